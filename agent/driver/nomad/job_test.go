package nomad

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

func baseSpec() instance.Spec {
	return instance.Spec{
		ID: "hello-v3-0a1b2c3d", Function: "hello", Version: 3, Image: "127.0.0.1:5000/hearth/hello:3f2a9c",
		Env: map[string]string{"GREETING": "hi", "PORT": "1"}, Port: 9000,
		Resources: instance.Resources{MemoryMB: 256, CPUMilli: 500},
		Labels:    map[string]string{instance.LabelNode: "node-a", "extra": "x"},
	}
}

func mustJob(t *testing.T, spec instance.Spec, p jobParams) (*api.Job, *api.TaskGroup, *api.Task) {
	t.Helper()
	job, err := jobFor(spec, p)
	if err != nil {
		t.Fatalf("jobFor: %v", err)
	}
	if len(job.TaskGroups) != 1 || len(job.TaskGroups[0].Tasks) != 1 {
		t.Fatalf("job has %d groups: want one group with one task", len(job.TaskGroups))
	}
	return job, job.TaskGroups[0], job.TaskGroups[0].Tasks[0]
}

func TestJobForShape(t *testing.T) {
	p := jobParams{datacenters: []string{"dc1"}, mhzPerCore: 2000, killTimeout: 7 * time.Second}
	job, g, task := mustJob(t, baseSpec(), p)

	if *job.ID != "hearth-hello-v3-0a1b2c3d" || *job.Name != *job.ID || *job.Type != api.JobTypeService {
		t.Errorf("job %s named %s of type %s: want service hearth-<id>", *job.ID, *job.Name, *job.Type)
	}
	if !reflect.DeepEqual(job.Datacenters, []string{"dc1"}) {
		t.Errorf("datacenters %v", job.Datacenters)
	}
	// hearth replaces failed instances itself: Nomad must neither restart, reschedule, replace
	// nor run a deployment.
	if *g.Count != 1 || *g.RestartPolicy.Attempts != 0 || *g.RestartPolicy.Mode != api.RestartPolicyModeFail ||
		*g.ReschedulePolicy.Attempts != 0 || *g.ReschedulePolicy.Unlimited || *g.Disconnect.Replace || *g.Update.MaxParallel != 0 {
		t.Errorf("group policies: count %d, restart %+v, reschedule %+v, disconnect %+v, update %+v",
			*g.Count, g.RestartPolicy, g.ReschedulePolicy, g.Disconnect, g.Update)
	}
	if len(g.Networks) != 1 || !reflect.DeepEqual(g.Networks[0].DynamicPorts, []api.Port{{Label: "http", To: 9000}}) {
		t.Errorf("network %+v: want one dynamic port http to 9000", g.Networks)
	}
	if task.Driver != "docker" || task.Name != taskName || *task.KillTimeout != 7*time.Second {
		t.Errorf("task %s driver %s kill timeout %v", task.Name, task.Driver, *task.KillTimeout)
	}
	if want := map[string]string{"GREETING": "hi", "PORT": "9000"}; !reflect.DeepEqual(task.Env, want) {
		t.Errorf("env %v, want %v (PORT from the spec's port wins)", task.Env, want)
	}
	if *task.Resources.MemoryMB != 256 || *task.Resources.CPU != 1000 {
		t.Errorf("resources: %d MB, %d MHz; want 256 MB and 500m of 2000 MHz cores = 1000 MHz", *task.Resources.MemoryMB, *task.Resources.CPU)
	}
	want := map[string]string{
		instance.LabelOwner: "hearth", instance.LabelInstance: "hello-v3-0a1b2c3d", instance.LabelFunction: "hello",
		instance.LabelVersion: "3", instance.LabelNode: "node-a", "extra": "x",
	}
	if !reflect.DeepEqual(job.Meta, want) {
		t.Errorf("meta %v, want %v", job.Meta, want)
	}
	cfg := task.Config
	for key, val := range map[string]any{
		"image": "127.0.0.1:5000/hearth/hello:3f2a9c", "ports": []string{"http"}, "force_pull": false,
		"cpu_hard_limit": true, "hostname": "hello-v3-0a1b2c3d",
	} {
		if !reflect.DeepEqual(cfg[key], val) {
			t.Errorf("config %s = %#v, want %#v", key, cfg[key], val)
		}
	}
	if _, ok := cfg["auth"]; ok {
		t.Error("an auth block without registry credentials")
	}
}

func TestJobForHardening(t *testing.T) {
	_, _, task := mustJob(t, baseSpec(), jobParams{mhzPerCore: 1000})
	cfg := task.Config
	for key, val := range map[string]any{
		"cap_drop": []string{"all"}, "security_opt": []string{"no-new-privileges"}, "readonly_rootfs": true,
		"pids_limit": 512, "ulimit": []map[string]string{{"nofile": "4096:4096"}}, "init": true,
		"mount": []map[string]any{{"type": "tmpfs", "target": "/tmp", "tmpfs_options": map[string]any{"size": int64(64 << 20), "mode": 0o1777}}},
	} {
		if !reflect.DeepEqual(cfg[key], val) {
			t.Errorf("config %s = %#v, want %#v", key, cfg[key], val)
		}
	}
	if _, ok := cfg["cap_add"]; ok {
		t.Errorf("cap_add %v without any asked for", cfg["cap_add"])
	}
	if task.User != "65534:65534" {
		t.Errorf("user %q, want the unprivileged 65534:65534", task.User)
	}

	spec := baseSpec()
	spec.Security = instance.Security{User: "1000", WritableRoot: true, TmpSizeMB: 8, PidsLimit: 64, NoFile: 100,
		CapAdd: []string{"NET_BIND_SERVICE", "cap_chown"}}
	_, _, task = mustJob(t, spec, jobParams{mhzPerCore: 1000})
	cfg = task.Config
	for key, val := range map[string]any{
		"cap_add": []string{"net_bind_service", "chown"}, "readonly_rootfs": false, "pids_limit": 64,
		"ulimit": []map[string]string{{"nofile": "100:100"}},
	} {
		if !reflect.DeepEqual(cfg[key], val) {
			t.Errorf("relaxed: config %s = %#v, want %#v", key, cfg[key], val)
		}
	}
	if got := cfg["mount"].([]map[string]any)[0]["tmpfs_options"].(map[string]any)["size"]; got != int64(8<<20) {
		t.Errorf("relaxed: tmpfs size %v, want 8 MiB", got)
	}
	if task.User != "1000:1000" {
		t.Errorf("relaxed: user %q, want 1000:1000", task.User)
	}
}

func TestJobForRefuses(t *testing.T) {
	for name, change := range map[string]func(*instance.Spec){
		"no id":        func(s *instance.Spec) { s.ID = "" },
		"latest":       func(s *instance.Spec) { s.Image = "hello:latest" },
		"network none": func(s *instance.Spec) { s.Security.Network = instance.NetworkNone },
	} {
		spec := baseSpec()
		change(&spec)
		if _, err := jobFor(spec, jobParams{mhzPerCore: 1000}); err == nil {
			t.Errorf("%s: jobFor accepted %+v", name, spec)
		}
	}
	spec := baseSpec()
	spec.Security.Network = instance.NetworkNone
	if _, err := jobFor(spec, jobParams{mhzPerCore: 1000}); !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("network none: %v, want ErrNotSupported", err)
	}
}

func TestJobForDefaults(t *testing.T) {
	spec := baseSpec()
	spec.Port, spec.Resources, spec.ID = 0, instance.Resources{}, "a.b" // not a hostname label
	_, g, task := mustJob(t, spec, jobParams{mhzPerCore: 1000})
	if *task.Resources.MemoryMB != defaultMemoryMB || *task.Resources.CPU != defaultCPUMHz {
		t.Errorf("resources %d MB %d MHz, want the defaults", *task.Resources.MemoryMB, *task.Resources.CPU)
	}
	if _, ok := task.Config["cpu_hard_limit"]; ok {
		t.Error("a hard CPU limit for a spec without CPU")
	}
	if _, ok := task.Config["hostname"]; ok {
		t.Error("a hostname from an id that is not a hostname label")
	}
	if g.Networks[0].DynamicPorts[0].To != 8080 || task.Env["PORT"] != "8080" {
		t.Errorf("port %d, PORT %s: want the contract's 8080", g.Networks[0].DynamicPorts[0].To, task.Env["PORT"])
	}
}

func TestRegistryAuth(t *testing.T) {
	d := &Driver{cfg: Config{Registry: "reg.example:5000/team", RegistryUsername: "u", RegistryPassword: "p"}}
	_, _, task := mustJob(t, baseSpec(), jobParams{mhzPerCore: 1000, auth: d.registryAuth()})
	want := map[string]any{"username": "u", "password": "p", "server_address": "reg.example:5000"}
	if !reflect.DeepEqual(task.Config["auth"], want) {
		t.Errorf("auth %v, want %v", task.Config["auth"], want)
	}
	if err := d.checkImage("reg.example:5000/team/hello:1"); err != nil {
		t.Errorf("an image under the registry: %v", err)
	}
	if err := d.checkImage("docker.io/team/hello:1"); !errors.Is(err, driver.ErrImageNotFound) {
		t.Errorf("an image outside the registry: %v, want ErrImageNotFound", err)
	}
}

func TestCheckImageRef(t *testing.T) {
	for ref, ok := range map[string]bool{
		"hello:3f2a":                       true,
		"127.0.0.1:5000/hearth/hello:3f2a": true,
		"hello@sha256:0123":                true,
		"hello":                            false,
		"hello:latest":                     false,
		"127.0.0.1:5000/hearth/hello":      false, // the colon is the registry's port
		"":                                 false,
	} {
		if err := checkImageRef(ref); (err == nil) != ok {
			t.Errorf("checkImageRef(%q) = %v, want ok %v", ref, err, ok)
		}
	}
}

func TestCPUMHz(t *testing.T) {
	for _, c := range []struct {
		milli, ratio int64
		mhz          int
		hard         bool
	}{
		{0, 2000, defaultCPUMHz, false},
		{1000, 2000, 2000, true},
		{250, 2400, 600, true},
		{1, 1000, 1, true}, // rounded up, never 0
		{333, 1000, 333, true},
		{1, 10, 1, true},
	} {
		mhz, hard := cpuMHz(c.milli, c.ratio)
		if mhz != c.mhz || hard != c.hard {
			t.Errorf("cpuMHz(%d, %d) = %d, %v; want %d, %v", c.milli, c.ratio, mhz, hard, c.mhz, c.hard)
		}
	}
}

func TestRunAs(t *testing.T) {
	for in, want := range map[string]string{"": "65534:65534", "root": "0:0", "1000": "1000:1000", "1000:50": "1000:50", "app": "app:app"} {
		if got := runAs(in); got != want {
			t.Errorf("runAs(%q) = %q, want %q", in, got, want)
		}
	}
}
