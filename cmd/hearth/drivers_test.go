package main

import (
	"slices"
	"strings"
	"testing"
)

func TestNodeFlagsChooseTheDriver(t *testing.T) {
	for _, tt := range []struct {
		flags   nodeFlags
		cluster bool
		want    string
		err     string
	}{
		{nodeFlags{dev: true}, false, "docker", ""},
		{nodeFlags{dev: true, driver: "docker"}, false, "docker", ""},
		{nodeFlags{driver: "nomad"}, false, "nomad", ""},
		{nodeFlags{}, false, "", "--dev (the local Docker Engine), --driver nomad (a Nomad cluster), or --cluster-addr"},
		{nodeFlags{driver: "docker"}, false, "", "needs a node"},
		{nodeFlags{dev: true, driver: "nomad"}, false, "", "choose one"},
		{nodeFlags{driver: "k8s"}, false, "", `--driver "k8s"`},
		// Agents only: no node in the server.
		{nodeFlags{}, true, "", ""},
		{nodeFlags{dev: true}, true, "docker", ""},
		{nodeFlags{driver: "nomad"}, true, "nomad", ""},
	} {
		got, err := tt.flags.name(tt.cluster)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%+v: %q, %v; want %q, an error saying %q", tt.flags, got, err, tt.want, tt.err)
		}
	}
}

func TestNomadTokenStaysOffTheCommandLine(t *testing.T) {
	n := nodeFlags{driver: "nomad", nomadAddr: "http://10.0.0.1:4646", nomadToken: "s3cret", nomadDatacenters: []string{"dc1", "dc2"}}
	cmd := n.command("/bin/hearth", "unix:///var/run/docker.sock", "info", nil)("nomad")
	args := strings.Join(cmd.Args, " ")
	if strings.Contains(args, "s3cret") {
		t.Fatalf("the token is on the plugin's command line: %s", args)
	}
	if !slices.Contains(cmd.Env, "NOMAD_TOKEN=s3cret") {
		t.Error("the token does not reach the plugin's environment")
	}
	for _, want := range []string{"__driver nomad", "--nomad-addr http://10.0.0.1:4646", "--nomad-datacenters dc1,dc2"} {
		if !strings.Contains(args, want) {
			t.Errorf("plugin command %q lacks %q", args, want)
		}
	}
	d := nodeFlags{dev: true, instanceNetwork: "hearth"}
	args = strings.Join(d.command("/bin/hearth", "unix:///x.sock", "info", nil)("docker").Args, " ")
	if !strings.Contains(args, "--docker-host unix:///x.sock") || !strings.Contains(args, "--network hearth") {
		t.Errorf("docker plugin command: %s", args)
	}
}
