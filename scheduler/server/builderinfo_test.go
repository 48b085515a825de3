package server

import (
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
)

func TestWithBuilder(t *testing.T) {
	base := api.Info{Version: "1.0", Ready: true, Driver: "nomad 1.11.3"}
	got := withBuilder(base, builder.Status{Engine: "docker 20.10.24", Host: "unix:///var/run/docker.sock", Registry: "reg.local:5000/team"})
	want := base
	want.Builder, want.BuilderReady, want.Registry = "docker 20.10.24 at unix:///var/run/docker.sock", true, "reg.local:5000/team"
	if got != want {
		t.Errorf("reachable builder: %+v, want %+v", got, want)
	}
	got = withBuilder(base, builder.Status{Engine: "docker", Host: "tcp://10.0.0.5:2375", Problem: "connection refused"})
	want = base
	want.Builder, want.BuilderProblem = "docker at tcp://10.0.0.5:2375", "connection refused"
	if got != want {
		t.Errorf("unreachable builder: %+v, want %+v", got, want)
	}
}
