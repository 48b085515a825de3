package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/hearthfn/hearth/agent/driver/nomad"
)

// TestNomadConfigFlagsOverEnvironment checks where each Nomad setting of `hearth __driver
// nomad` comes from: a flag that was given, else the variable Nomad's own CLI reads.
func TestNomadConfigFlagsOverEnvironment(t *testing.T) {
	env := map[string]string{
		"NOMAD_ADDR": "https://env:4646", "NOMAD_TOKEN": "env-token", "NOMAD_REGION": "env-region",
		"NOMAD_NAMESPACE": "env-ns", "NOMAD_CACERT": "/ca.pem", "NOMAD_CLIENT_CERT": "/c.pem",
		"NOMAD_CLIENT_KEY": "/k.pem", "NOMAD_TLS_SERVER_NAME": "nomad.example", "NOMAD_SKIP_VERIFY": "true",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	f := pflag.NewFlagSet("__driver", pflag.ContinueOnError)
	var nf nomadFlags
	nf.register(f)
	if err := f.Parse([]string{"--nomad-addr", "http://flag:4646", "--nomad-namespace", "flag-ns",
		"--nomad-datacenters", "dc1,dc2", "--nomad-cpu-mhz-per-core", "2400"}); err != nil {
		t.Fatal(err)
	}
	got, err := nf.config(f, lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := nomad.Config{
		Address: "http://flag:4646", Token: "env-token", Region: "env-region", Namespace: "flag-ns",
		Datacenters: []string{"dc1", "dc2"}, CPUMHzPerCore: 2400,
		TLS: nomad.TLSConfig{CACert: "/ca.pem", ClientCert: "/c.pem", ClientKey: "/k.pem", ServerName: "nomad.example", Insecure: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config =\n%+v\nwant\n%+v", got, want)
	}

	env["NOMAD_SKIP_VERIFY"] = "maybe"
	if _, err := nf.config(f, lookup); err == nil {
		t.Error("NOMAD_SKIP_VERIFY=maybe accepted")
	}
}

// TestDriverCommandNames checks that the command refuses a driver it does not have.
func TestDriverCommandNames(t *testing.T) {
	cmd := newDriverCmd()
	cmd.SetArgs([]string{"k8s"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.Execute(); err == nil {
		t.Error("__driver k8s was accepted")
	}
}

// TestDriverPublishAddrChecked checks that `hearth __driver docker` refuses a --publish-addr the
// driver cannot use before it serves anything.
func TestDriverPublishAddrChecked(t *testing.T) {
	for _, args := range [][]string{
		{"docker", "--publish-addr", "0.0.0.0"},
		{"docker", "--publish-addr", "node-1.example"},
		{"docker", "--publish-addr", "127.0.0.1", "--network", "host"},
	} {
		cmd := newDriverCmd()
		cmd.SetArgs(args)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "PublishAddr") {
			t.Errorf("__driver %v = %v, want PublishAddr refused", args, err)
		}
	}
}
