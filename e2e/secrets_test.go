//go:build e2e

package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecrets sets a secret from stdin and reads it in a Go function, first as a file under
// /run/secrets, then again after a rotation (no deploy), then as an environment variable; it
// checks that the value shows nowhere else: not in list, inspect, the API, logs, docker
// inspect or the server's log, and that a value given as an argument is refused.
func TestSecrets(t *testing.T) {
	const (
		name   = "secret-e2e"
		first  = "v4lue-one-7f3a9c"
		second = "v4lue-two-e1d2b8"
	)
	// Registered before the server: runs after its stop, when the test has removed the
	// containers the server kept, whose secret files only a driver Stop would remove.
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/dev/shm/hearth-secrets/*/" + name + "-v*")
		for _, d := range dirs {
			_ = os.RemoveAll(d)
		}
	})
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, name)
	writeSecretHandler(t, dir)
	s.must(t, dir, "deploy")

	// Before any secret: a file that is not there.
	if r := s.hearth(t, dir, "invoke", name); !strings.Contains(r.stdout+r.stderr, "no such file") {
		t.Fatalf("no secret yet: %+v", r)
	}

	r := s.hearthIn(t, dir, first+"\n", "secret", "set", name, "API_KEY")
	if r.code != 0 {
		t.Fatalf("secret set: %+v", r)
	}
	list := s.must(t, dir, "secret", "list", name).stdout
	if !strings.Contains(list, "API_KEY") {
		t.Fatalf("list lacks the key:\n%s", list)
	}
	if out := s.must(t, dir, "invoke", name).stdout; out != "file:"+first+":-r--------" {
		t.Fatalf("files mode: %q, want the value in a 0400 file", out)
	}

	// docker inspect of the instance shows the mount, not the value.
	ids, err := exec.Command("docker", "ps", "-q", "--filter", "label=hearth.function="+name).Output()
	if err != nil || len(strings.Fields(string(ids))) == 0 {
		t.Fatalf("find the instance: %q, %v", ids, err)
	}
	insp, err := exec.Command("docker", append([]string{"inspect"}, strings.Fields(string(ids))...)...).CombinedOutput()
	if err != nil || strings.Contains(string(insp), first) || !strings.Contains(string(insp), "/run/secrets") {
		t.Fatalf("docker inspect (err %v) shows the value, or no /run/secrets mount:\n%s", err, insp)
	}

	// Rotation: the next call sees the new value, with no deploy.
	if r := s.hearthIn(t, dir, second, "secret", "set", name, "API_KEY"); r.code != 0 {
		t.Fatalf("secret set again: %+v", r)
	}
	if out := s.must(t, dir, "invoke", name).stdout; out != "file:"+second+":-r--------" {
		t.Fatalf("after rotation: %q", out)
	}

	// A value on the command line is refused as a usage error (exit 2, one error line, then
	// the usage), which does not repeat it.
	r = s.hearth(t, dir, "secret", "set", name, "API_KEY", "argv-value-5e6f")
	if line, _, _ := strings.Cut(r.stderr, "\n"); r.code != 2 || !strings.HasPrefix(line, "Error: ") ||
		!strings.Contains(line, "never as an argument") || strings.Contains(r.stderr, "argv-value-5e6f") {
		t.Fatalf("argv value: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	// env mode.
	setFuncYAML(t, dir, "secrets", "env")
	s.must(t, dir, "deploy")
	if out := s.must(t, dir, "invoke", name, "-d", "env").stdout; out != "env:"+second {
		t.Fatalf("env mode: %q", out)
	}

	// Nowhere else: inspect (text and JSON), the API, logs, the server's own log.
	insText := s.must(t, dir, "inspect", name).stdout
	if !strings.Contains(insText, "API_KEY (environment variables)") {
		t.Errorf("inspect does not name the secret and its mode:\n%s", insText)
	}
	seen := map[string]string{
		"inspect":      insText,
		"inspect json": s.must(t, dir, "inspect", name, "-o", "json").stdout,
		"list json":    s.must(t, dir, "secret", "list", name, "-o", "json").stdout,
		"logs":         s.must(t, dir, "logs", name).stdout,
		"calls":        s.must(t, dir, "calls", name).stdout,
	}
	for _, p := range []string{"/v1/functions/" + name, "/v1/functions/" + name + "/secrets", "/v1/functions/" + name + "/versions"} {
		resp, err := s.get(p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen["GET "+p] = string(b)
	}
	seen["server log"] = s.logs()
	for where, text := range seen {
		if strings.Contains(text, first) || strings.Contains(text, second) {
			t.Errorf("%s shows a secret's value:\n%s", where, text)
		}
	}

	// rm: the next instance runs without it.
	s.must(t, dir, "secret", "rm", name, "API_KEY")
	if out := s.must(t, dir, "invoke", name, "-d", "env").stdout; out != "env:" {
		t.Fatalf("after rm: %q", out)
	}
	if line := s.fails(t, dir, "secret", "rm", name, "API_KEY"); !strings.Contains(line, "not found") {
		t.Fatalf("rm twice: %q", line)
	}
}

// TestSecretsWrongKey restarts a server with another secrets key (HEARTH_SECRETS_KEY): an
// instance of a function with secrets cannot start, and the call's error says why and names
// where the key came from; the server does not crash.
func TestSecretsWrongKey(t *testing.T) {
	const name = "secret-key-e2e"
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/dev/shm/hearth-secrets/*/" + name + "-v*")
		for _, d := range dirs {
			_ = os.RemoveAll(d)
		}
	})
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, name)
	s.must(t, dir, "deploy")
	if r := s.hearthIn(t, dir, "k3y-value-0a9b", "secret", "set", name, "TOKEN"); r.code != 0 {
		t.Fatalf("secret set: %+v", r)
	}
	s.stop(t)

	t.Setenv("HEARTH_SECRETS_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") // 32 zero bytes, not the server's key
	s = startServer(t, serverOpts{dataDir: s.dataDir})
	line := s.fails(t, dir, "invoke", name)
	t.Logf("invoke with the wrong key: %s", line)
	if !strings.Contains(line, "cannot be decrypted") || !strings.Contains(line, "$HEARTH_SECRETS_KEY") {
		t.Fatalf("invoke with the wrong key: %q", line)
	}
	if strings.Contains(s.logs(), "panic") {
		t.Fatalf("the server panicked:\n%s", s.logs())
	}
}

// writeSecretHandler makes the function answer its secret API_KEY: "env:VALUE" for the body
// "env", else "file:VALUE:MODE" from /run/secrets/API_KEY (a 500 with the error without it).
func writeSecretHandler(t *testing.T, dir string) {
	t.Helper()
	writeHandler(t, dir, []string{"fmt", "io", "os"}, `
	how, _ := io.ReadAll(r.Body)
	if string(how) == "env" {
		fmt.Fprint(w, "env:"+os.Getenv("API_KEY"))
		return
	}
	b, err := os.ReadFile("/run/secrets/API_KEY")
	if err != nil {
		w.WriteHeader(500)
		fmt.Fprint(w, err.Error())
		return
	}
	fi, _ := os.Stat("/run/secrets/API_KEY")
	fmt.Fprintf(w, "file:%s:%v", b, fi.Mode().Perm())`)
}

// TestSecretsNomad runs the same function on the Nomad dev agent: the secret as a file rendered
// into the task's secrets directory and mounted at /run/secrets, then as an env variable.
func TestSecretsNomad(t *testing.T) {
	const name = "secret-nomad-e2e"
	s := startServer(t, serverOpts{nomad: true})
	dir := s.newFunction(t, name)
	writeSecretHandler(t, dir)
	s.must(t, dir, "deploy")
	if r := s.hearthIn(t, dir, "n0mad-value-3c4d", "secret", "set", name, "API_KEY"); r.code != 0 {
		t.Fatalf("secret set: %+v", r)
	}
	if out := s.must(t, dir, "invoke", name).stdout; out != "file:n0mad-value-3c4d:-r--------" {
		t.Fatalf("files mode on Nomad: %q", out)
	}
	setFuncYAML(t, dir, "secrets", "env")
	s.must(t, dir, "deploy")
	if out := s.must(t, dir, "invoke", name, "-d", "env").stdout; out != "env:n0mad-value-3c4d" {
		t.Fatalf("env mode on Nomad: %q", out)
	}
}
