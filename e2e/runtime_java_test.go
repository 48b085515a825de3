//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRuntime_Java is the java path of the walk-through: `hearth init --runtime java`, deploy,
// invoke; then a package-qualified handler in src/ named in func.yaml, a wrong one and a
// pom.xml refused at build time with the fix, while the version that serves stays.
func TestRuntime_Java(t *testing.T) {
	const name = "java-hello"
	javaNeedsImages(t)
	s := startServer(t, serverOpts{})
	parent := t.TempDir()
	s.must(t, parent, "init", "--runtime", "java", name)
	dir := filepath.Join(parent, name)
	for _, f := range []string{"func.yaml", "Handler.java", ".hearthignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("init did not write %s: %v", f, err)
		}
	}
	dep := s.must(t, dir, "deploy")
	if !strings.Contains(dep.stdout, s.URL+"/invoke/"+name) {
		t.Fatalf("deploy did not print the function's URL:\n%s", dep.stdout)
	}
	inv := s.must(t, dir, "invoke", name, "-d", `{"name":"Ada"}`)
	if !strings.Contains(inv.stdout, "Hello, Ada!") {
		t.Fatalf("invoke printed %q, want the scaffold's greeting", inv.stdout)
	}
	if status, body := s.postAs(t, "text/plain", "/invoke/"+name, ""); status != http.StatusOK || body != "Hello, world!" {
		t.Fatalf("call with no body = %d %q, want 200 \"Hello, world!\"", status, body)
	}

	// The image is the run image plus the function: no compiler, not root, the function's
	// folder without hearth's build files, and the class data sharing archive.
	image := functionImage(t, s, dir, name)
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
		`id -u; command -v javac || echo no-javac; ls -A /function; ls /opt/hearth`).CombinedOutput()
	if err != nil {
		t.Fatalf("look inside %s: %v\n%s", image, err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 || fields[0] != "65534" || fields[1] != "no-javac" || slices.Contains(fields, ".hearth") ||
		!slices.Contains(fields, "Handler.java") || !slices.Contains(fields, "app.jsa") {
		t.Fatalf("inside %s (uid, javac, /function, /opt/hearth):\n%s\nwant uid 65534, no javac, no .hearth, app.jsa", image, out)
	}

	// A class in a package, in src/, named in func.yaml.
	src, err := os.ReadFile(filepath.Join(dir, "Handler.java"))
	if err != nil {
		t.Fatal(err)
	}
	greeter := "package com.example;\n\n" + strings.NewReplacer("public class Handler", "public class Greeter",
		"Hello, ", "Howdy, ").Replace(string(src))
	if err := os.Remove(filepath.Join(dir, "Handler.java")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "src/com/example/Greeter.java", greeter)
	setFuncYAML(t, dir, "handler", "com.example.Greeter")
	s.must(t, dir, "deploy")
	if status, body := s.postAs(t, "text/plain", "/invoke/"+name, `{"name":"Ada"}`); status != http.StatusOK || body != "Howdy, Ada!" {
		t.Fatalf("with handler com.example.Greeter: %d %q", status, body)
	}

	// A handler that names no class is refused by the build, with the fix; so is a pom.xml.
	setFuncYAML(t, dir, "handler", "Greeter")
	r := s.hearth(t, dir, "deploy")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "no class Greeter in the function") ||
		!strings.Contains(r.stdout+r.stderr, "package-qualified") {
		t.Fatalf("deploy with a wrong handler: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	setFuncYAML(t, dir, "handler", "com.example.Greeter")
	writeFile(t, dir, "pom.xml", "<project/>\n")
	r = s.hearth(t, dir, "deploy")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "pom.xml builds are not supported yet: put the dependency jars in lib/") {
		t.Fatalf("deploy with a pom.xml: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if status, body := s.postAs(t, "text/plain", "/invoke/"+name, `{"name":"Ada"}`); status != http.StatusOK || body != "Howdy, Ada!" {
		t.Fatalf("after the failed deploys: %d %q", status, body)
	}
}

// TestContract_Java runs the conformance suite on runtimes/java/testdata/contract.
func TestContract_Java(t *testing.T) {
	javaNeedsImages(t)
	runContract(t, "java")
}

// TestRuntime_JavaDependencies deploys a function with a jar in lib/, made here with the
// machine's javac and jar (no Maven repository is reachable here), and a file in resources/:
// the handler calls the jar's class, loaded from /function/lib, and reads the resource.
func TestRuntime_JavaDependencies(t *testing.T) {
	const name = "java-deps"
	javaNeedsImages(t)
	s := startServer(t, serverOpts{})
	parent := t.TempDir()
	s.must(t, parent, "init", "--runtime", "java", name)
	dir := filepath.Join(parent, name)

	lib := t.TempDir()
	writeFile(t, lib, "src/org/shout/Shout.java", `package org.shout;

/** Shout is the test's dependency. */
public final class Shout {
    private Shout() {}

    public static String shout(String s) {
        return s.toUpperCase() + "!";
    }

    /** Returns where the class was loaded from. */
    public static String where() {
        return Shout.class.getProtectionDomain().getCodeSource().getLocation().toString();
    }
}
`)
	for _, cmd := range [][]string{
		{"javac", "--release", "17", "-d", filepath.Join(lib, "classes"), filepath.Join(lib, "src", "org", "shout", "Shout.java")},
		{"jar", "--create", "--file", filepath.Join(dir, "lib", "shout-1.0.jar"), "-C", filepath.Join(lib, "classes"), "."},
	} {
		if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s (the test needs the machine's JDK 17): %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	writeFile(t, dir, "resources/greeting.txt", "Greetings")
	writeFile(t, dir, "Handler.java", `import hearth.Context;
import hearth.Request;
import hearth.Response;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.shout.Shout;

public class Handler implements hearth.Handler {
    @Override
    public Response handle(Request req, Context ctx) throws Exception {
        String greeting;
        try (InputStream in = Handler.class.getResourceAsStream("/greeting.txt")) {
            greeting = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        return Response.json("{\"text\":\"" + Shout.shout(greeting + ", " + req.text()) + "\",\"from\":\"" + Shout.where() + "\"}");
    }
}
`)
	dep := s.must(t, dir, "deploy")
	status, body := s.postAs(t, "text/plain", "/invoke/"+name, "Ada")
	var got struct{ Text, From string }
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK {
		t.Fatalf("call = %d %q (%v)\ndeploy output:\n%s", status, body, err, dep.stdout+dep.stderr)
	}
	if got.Text != "GREETINGS, ADA!" || got.From != "file:/function/lib/shout-1.0.jar" {
		t.Fatalf("call = %+v, want the jar's shout of the resource's greeting, loaded from /function/lib/shout-1.0.jar", got)
	}
}

// javaNeedsImages fails the test, with the fix, when the java runtime's base images are missing
// (make test makes them; a deploy would fail with a less helpful pull error).
func javaNeedsImages(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", "hearth/java:17", "hearth/java-build:17").CombinedOutput(); err != nil {
		t.Fatalf("the java runtime's images are missing (run `hearth images bootstrap`): %v\n%s", err, out)
	}
}
