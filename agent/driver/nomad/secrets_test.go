package nomad

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/agent/instance"
)

func TestJobForSecretsAsFiles(t *testing.T) {
	spec := baseSpec()
	spec.Secrets = instance.SecretValues{"B_KEY": []byte("{{ not a template }}"), "A_KEY": []byte("s3cr3t")}
	spec.Security.User = "1000"
	_, _, task := mustJob(t, spec, jobParams{mhzPerCore: 1000})
	if len(task.Templates) != 2 {
		t.Fatalf("templates: %d, want one per secret", len(task.Templates))
	}
	a := task.Templates[0]
	if *a.DestPath != "secrets/A_KEY" || *a.Perms != "0400" || *a.Uid != 1000 || *a.Gid != 1000 || *a.ChangeMode != "noop" {
		t.Fatalf("template: dest %s perms %s uid %d gid %d", *a.DestPath, *a.Perms, *a.Uid, *a.Gid)
	}
	b := *task.Templates[1].EmbeddedTmpl
	if strings.Contains(b, "not a template") || !strings.Contains(b, base64.StdEncoding.EncodeToString([]byte("{{ not a template }}"))) {
		t.Fatalf("a value is carried base64-encoded, never as template text: %s", b)
	}
	for k, v := range task.Env {
		if strings.Contains(v, "s3cr3t") {
			t.Fatalf("files mode put a value in env %s", k)
		}
	}
	mounts := task.Config["mount"].([]map[string]any)
	want := map[string]any{"type": "bind", "source": "secrets", "target": "/run/secrets", "readonly": true}
	if !reflect.DeepEqual(mounts[len(mounts)-1], want) {
		t.Fatalf("mounts: %v", mounts)
	}
	if mounts[0]["target"] != "/tmp" {
		t.Fatalf("the /tmp tmpfs was lost: %v", mounts)
	}
}

func TestJobForSecretsAsEnv(t *testing.T) {
	spec := baseSpec()
	spec.Env["A_KEY"] = "from env"
	spec.Secrets = instance.SecretValues{"A_KEY": []byte("s3cr3t"), "PORT": []byte("1")}
	spec.SecretsAs = instance.SecretsEnv
	_, _, task := mustJob(t, spec, jobParams{mhzPerCore: 1000})
	if task.Env["A_KEY"] != "s3cr3t" || task.Env["PORT"] != "9000" || task.Env["GREETING"] != "hi" {
		t.Fatalf("env: %v", task.Env)
	}
	if len(task.Templates) != 0 {
		t.Fatalf("env mode made templates")
	}
}
