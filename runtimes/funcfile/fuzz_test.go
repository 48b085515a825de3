package funcfile

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse feeds Parse arbitrary func.yaml text. It must not panic; every error must wrap
// ErrInvalid (so that the API answers 400, not 500); and what it accepts must pass Validate, as
// the registry and `hearth config` later check it.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		base,
		"name: hello-2\nversion: 0.1.0\nruntime: go\nhandler: Handle\nmemory: 256\ncpu: 100m\ntimeout: 1m30s\n" +
			"idle_timeout: 45s\npause_timeout: 5m\nconcurrency: 8\nmin_instances: 1\nmax_instances: 5\nqueue: 10\n" +
			"env:\n  GREETING: hi\n  PORTS: 8080\n  ON: true\n  EMPTY:\n",
		"schema_version: 20180708\nname: fnfunc\nversion: 0.0.1\nruntime: go\nentrypoint: ./func\nformat: http-stream\n" +
			"memory: 128\ntimeout: 30\nconfig:\n  A: b\ntriggers:\n- name: t\n  type: http\n  source: /t\n",
		base + "cpu: \"0.5\"\n", base + "cpu: 0.0001\n", base + "cpu: 1e400\n", base + "cpu: -1m\n",
		base + "memory: 0\n", base + "memory: 99999999999999999999\n", base + "memory: 0x10\n",
		base + "timeout: 9223372036854775807\n", base + "timeout: -5s\n", base + "timeout: 1e308\n",
		base + "max_instances: 2147483648\n", base + "min_instances: 3\nmax_instances: 2\n",
		base + "env:\n  1BAD: x\n  PORT: 1\n  A: [1, 2]\n", base + "env: [a, b]\n",
		base + "env:\n  A: x\nconfig:\n  A: y\n", base + "handler: a\nentrypoint: b\n",
		base + "name: again\n", base + "bogus: 1\n", "name: &n hello\nruntime: *n\n",
		"base: &b {name: hello, runtime: go}\n<<: *b\n", "a: &a [*a]\n", "- a\n- b\n", "just a string\n", "",
		"~\n", "{name: hello, runtime: go, env: {A: !!binary aGk=}}\n", "name: hello\n\truntime: go\n",
		"name: \"hello\x00\"\nruntime: go\n", "%YAML 1.1\n---\nname: hello\nruntime: go\n...\n---\nname: x\n",
		"env: &e\n  A: *e\nname: hello\nruntime: go\n", "? [a, b]\n: c\n", "name: !!int 1\nruntime: go\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v does not wrap ErrInvalid", err)
			}
			if !reflect.DeepEqual(spec, reflect.Zero(reflect.TypeOf(spec)).Interface()) {
				t.Fatalf("Parse failed (%v) but returned a spec: %+v", err, spec)
			}
			return
		}
		if err := Validate(spec); err != nil {
			t.Fatalf("Parse accepted a spec that Validate refuses: %v\n%+v", err, spec)
		}
	})
}
