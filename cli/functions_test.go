package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

// seed puts two functions into the fake server, one with instances.
func seed(e *env) {
	e.api.put(api.Function{
		Name:      "zeta",
		Version:   api.Version{Number: 1, Image: "hearth/zeta:111", Spec: api.FunctionSpec{Name: "zeta", Runtime: "python"}},
		UpdatedAt: now.Add(-3 * time.Hour),
	})
	e.api.put(api.Function{
		Name: "alpha",
		Version: api.Version{Number: 7, Image: "hearth/alpha:777", Spec: api.FunctionSpec{
			Name: "alpha", Runtime: "go", Label: "0.2.0", MemoryMB: 256, CPUMilli: 500,
			Env: map[string]string{"TOKEN": "secret", "MODE": "fast"}, MaxInstances: 4,
		}},
		CreatedAt: now.Add(-50 * time.Hour),
		UpdatedAt: now.Add(-5 * time.Minute),
		Pool: &api.PoolStatus{Instances: []api.InstanceStatus{
			{ID: "i-1", Version: 7, State: "ready", Endpoint: "10.0.0.2:31000", Node: "n1-0a1b2c3d", Placement: "has the image", InFlight: 1, StartedAt: now.Add(-4 * time.Minute), LastUsed: now.Add(-20 * time.Second)},
			{ID: "i-2", Version: 7, State: "paused", Endpoint: "10.0.0.3:31001", StartedAt: now.Add(-3 * time.Minute),
				LastUsed: now.Add(-2 * time.Minute), PausedAt: now.Add(-40 * time.Second)},
		}},
	})
}

func TestList(t *testing.T) {
	e := newEnv(t)
	r := e.run("list")
	r.wantCode(t, cli.ExitOK)
	if r.stdout != "" || !strings.Contains(r.stderr, "No functions deployed yet") {
		t.Errorf("empty list: stdout %q, stderr %q", r.stdout, r.stderr)
	}

	seed(e)
	r = e.run("list")
	r.wantCode(t, cli.ExitOK)
	want := "" +
		"NAME    VERSION   RUNTIME   IMAGE              UPDATED\n" +
		"alpha   7         go        hearth/alpha:777   5m ago\n" +
		"zeta    1         python    hearth/zeta:111    3h ago\n"
	if r.stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, want)
	}

	r = e.run("ls", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var l api.FunctionList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Items) != 2 || l.Items[0].Name != "alpha" {
		t.Errorf("json list = %+v, %v\n%s", l, err, r.stdout)
	}

	r = e.run("list", "-o", "yaml")
	r.wantCode(t, cli.ExitUsage)
	if !strings.HasPrefix(r.stderr, `Error: invalid argument "yaml" for "-o, --output" flag: unknown output format "yaml": use text or json`) {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestInspect(t *testing.T) {
	e := newEnv(t)
	seed(e)
	r := e.run("inspect", "alpha")
	r.wantCode(t, cli.ExitOK)
	for _, want := range []string{
		"Name:           alpha\n",
		"Version:        7 (0.2.0)\n",
		"Runtime:        go\n",
		"Handler:        -\n",
		"URL:            " + e.srv.URL + "/invoke/alpha\n",
		"Memory:         256 MB\n",
		"CPU:            500m\n",
		"Timeout:        30s\n",
		"Idle timeout:   30s\n",
		"Pause timeout:  5m0s\n",
		"Concurrency:    1\n",
		"Instances:      min 0, max 4\n",
		"Queue:          100\n",
		"Access:         private: a token covering it is needed\n",
		"Confinement:    user 65534:65534 (or the image's non-root USER, on Docker), no capabilities, read-only root, /tmp 64 MB, 512 pids, 4096 files, network with outbound\n",
		"Env:            MODE, TOKEN\n",
		"Created:        2025-05-30T10:00:00Z (2d ago)\n",
		"\nINSTANCE   VERSION   STATE    IN FLIGHT   LAST USED   PAUSED    STARTED   ENDPOINT         NODE          PLACEMENT\n",
		"i-1        7         ready    1           20s ago     -         4m ago    10.0.0.2:31000   n1-0a1b2c3d   has the image\n",
		"i-2        7         paused   0           2m ago      40s ago   3m ago    10.0.0.3:31001   -             -\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "secret") {
		t.Errorf("inspect printed an env value:\n%s", r.stdout)
	}

	r = e.run("inspect", "zeta")
	r.wantCode(t, cli.ExitOK)
	if !strings.HasSuffix(r.stdout, "\nNo instances running.\n") {
		t.Errorf("stdout =\n%s", r.stdout)
	}

	r = e.run("inspect", "alpha", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var f api.Function
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil || f.Pool == nil || len(f.Pool.Instances) != 2 {
		t.Errorf("json = %+v, %v", f, err)
	}

	r = e.run("inspect", "nope")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, `function "nope" not found`)
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	seed(e)
	r := e.run("delete", "zeta")
	r.wantCode(t, cli.ExitOK)
	if r.stdout != "Deleted zeta\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	r = e.run("rm", "zeta")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, `function "zeta" not found`)
}
