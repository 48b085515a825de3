//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// specOf returns the current version's spec of the function as `hearth inspect -o json` prints
// it: raw JSON values, so that the test sees the names and forms on the wire.
func specOf(t *testing.T, s *server, dir, name string) map[string]json.RawMessage {
	t.Helper()
	r := s.must(t, dir, "inspect", name, "-o", "json")
	var fn struct {
		Version struct {
			Number int                        `json:"number"`
			Spec   map[string]json.RawMessage `json:"spec"`
		} `json:"version"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &fn); err != nil {
		t.Fatalf("inspect -o json: %v\n%s", err, r.stdout)
	}
	return fn.Version.Spec
}

// wantSpec checks the spec's memory and cpu as JSON text (`256`, `"250m"`), and that the old
// keys are gone from it.
func wantSpec(t *testing.T, spec map[string]json.RawMessage, memory, cpu string) {
	t.Helper()
	if got := string(spec["memory"]); got != memory {
		t.Errorf("spec memory = %s, want %s (spec %v)", got, memory, spec)
	}
	if got := string(spec["cpu"]); got != cpu {
		t.Errorf("spec cpu = %s, want %s", got, cpu)
	}
	for _, old := range []string{"memory_mb", "cpu_milli"} {
		if _, ok := spec[old]; ok {
			t.Errorf("spec has the old key %q: %v", old, spec)
		}
	}
}

// TestSettingsVocabulary: memory and cpu have func.yaml's names and forms everywhere: func.yaml,
// `hearth config` (in and out), the PATCH body, and the spec the API returns; the instance gets
// the limits. The old memory_mb and cpu_milli still work, with a note on stderr from the CLI and
// a Warning header from the API.
func TestSettingsVocabulary(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "vocab")
	setFuncYAML(t, dir, "cpu", "0.5")
	s.must(t, dir, "deploy")
	wantSpec(t, specOf(t, s, dir, "vocab"), "128", `"500m"`)

	r := s.must(t, dir, "config", "vocab", "memory=256", "cpu=250m")
	if strings.Contains(r.stderr, "deprecated") {
		t.Errorf("config with the new names printed a deprecation: %q", r.stderr)
	}
	if !strings.Contains(r.stdout, "memory          256\n") || !strings.Contains(r.stdout, "cpu             250m\n") {
		t.Errorf("config output:\n%s", r.stdout)
	}
	wantSpec(t, specOf(t, s, dir, "vocab"), "256", `"250m"`)

	// The instance started after the change runs with those limits.
	mustCall(t, s, "vocab")
	eventually(t, "an instance with 256 MB and a quarter core", func() bool {
		for _, c := range containersOf(t, "vocab") {
			out, err := exec.Command("docker", "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", c).Output()
			if err == nil && strings.TrimSpace(string(out)) == "268435456 250000000" {
				return true
			}
		}
		return false
	})

	// `hearth config -o json` writes them as PATCH takes them.
	r = s.must(t, dir, "config", "vocab", "-o", "json")
	var settings map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &settings); err != nil {
		t.Fatalf("config -o json: %v\n%s", err, r.stdout)
	}
	if string(settings["memory"]) != "256" || string(settings["cpu"]) != `"250m"` {
		t.Errorf("config -o json: memory %s cpu %s, want 256 and \"250m\"", settings["memory"], settings["cpu"])
	}

	// The old key works, and says what to write instead.
	r = s.must(t, dir, "config", "vocab", "memory_mb=300")
	if !strings.Contains(r.stderr, "memory_mb is deprecated: use memory=300\n") {
		t.Errorf("stderr = %q, want the deprecation note", r.stderr)
	}
	wantSpec(t, specOf(t, s, dir, "vocab"), "300", `"250m"`)

	// cpu=0 takes the limit away: the spec then has no cpu at all.
	s.must(t, dir, "config", "vocab", "cpu=0")
	wantSpec(t, specOf(t, s, dir, "vocab"), "300", "")

	// The API: the old keys work with a Warning header; the new ones with none.
	patch := func(body string) (int, []string, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPatch, s.URL+"/v1/functions/vocab/config", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp := s.do(t, req)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Values("Warning"), string(b)
	}
	status, warnings, body := patch(`{"memory_mb": 320, "cpu_milli": 750}`)
	if status != http.StatusOK || len(warnings) != 2 || !strings.Contains(warnings[0], "cpu_milli is deprecated; use cpu") ||
		!strings.Contains(warnings[1], "memory_mb is deprecated; use memory") {
		t.Errorf("PATCH with the old keys: %d, Warning %q, body %s", status, warnings, body)
	}
	wantSpec(t, specOf(t, s, dir, "vocab"), "320", `"750m"`)
	status, warnings, body = patch(`{"memory": 256, "cpu": "0.5"}`)
	if status != http.StatusOK || len(warnings) != 0 {
		t.Errorf("PATCH with the new keys: %d, Warning %q, body %s", status, warnings, body)
	}
	var fn struct {
		Version struct {
			Spec map[string]json.RawMessage `json:"spec"`
		} `json:"version"`
	}
	if err := json.Unmarshal([]byte(body), &fn); err != nil {
		t.Fatalf("PATCH answer: %v\n%s", err, body)
	}
	wantSpec(t, fn.Version.Spec, "256", `"500m"`)

	// Mistakes are one line, in func.yaml's words, with the nearest key for a typo.
	if msg := s.fails(t, dir, "config", "vocab", "memroy=1"); !strings.Contains(msg, `unknown setting "memroy" (did you mean memory?)`) {
		t.Errorf("typo: %q", msg)
	}
	if msg := s.fails(t, dir, "config", "vocab", "cpu=lots"); !strings.Contains(msg, `cpu: "lots" must be a positive CPU amount such as "100m" (millicores) or "0.5" (cores)`) {
		t.Errorf("bad cpu: %q", msg)
	}
	if msg := s.fails(t, dir, "config", "vocab", "memory=8"); !strings.Contains(msg, `setting "memory": must be a whole number of megabytes from 16 to 16384, such as 256`) {
		t.Errorf("memory out of range: %q", msg)
	}
	// func.yaml says the same for the same mistakes.
	setFuncYAML(t, dir, "memory", "8")
	if msg := s.fails(t, dir, "deploy"); !strings.Contains(msg, "memory") || !strings.Contains(msg, "must be a whole number of megabytes from 16 to 16384, such as 256") {
		t.Errorf("func.yaml memory 8: %q", msg)
	}
}
