package funcfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hearthfn/hearth/api"
)

const base = "name: hello\nruntime: go\n"

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want api.FunctionSpec
	}{
		{"minimal", base, api.FunctionSpec{Name: "hello", Runtime: "go"}},
		{"all fields", `
name: hello-2
version: 0.1.0
runtime: go
handler: Handle
memory: 256
cpu: 100m
timeout: 1m30s
idle_timeout: 45s
concurrency: 8
min_instances: 1
max_instances: 5
env:
  GREETING: hi
`, api.FunctionSpec{Name: "hello-2", Label: "0.1.0", Runtime: "go", Handler: "Handle",
			MemoryMB: 256, CPUMilli: 100, Timeout: api.Duration(90 * time.Second),
			IdleTimeout: api.Duration(45 * time.Second), Concurrency: 8, MinInstances: 1,
			MaxInstances: 5, Env: map[string]string{"GREETING": "hi"}}},
		{"constraints", base + "constraints:\n  zone: a\n  disk: ssd\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", Constraints: map[string]string{"zone": "a", "disk": "ssd"}}},
		{"fn entrypoint is handler", base + "entrypoint: ./func\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", Handler: "./func"}},
		{"version as a YAML number keeps its text", base + "version: 1.10\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", Label: "1.10"}},
		{"cpu in cores", base + "cpu: \"0.5\"\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", CPUMilli: 500}},
		{"cpu as a YAML number", base + "cpu: 2\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", CPUMilli: 2000}},
		{"cpu 0.1 has no float error", base + "cpu: 0.1\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", CPUMilli: 100}},
		{"timeout in seconds, Fn style", base + "timeout: 60\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", Timeout: api.Duration(time.Minute)}},
		{"timeout exactly 15m", base + "timeout: 15m\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", Timeout: api.Duration(15 * time.Minute)}},
		{"idle_timeout in seconds", base + "idle_timeout: 30\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", IdleTimeout: api.Duration(30 * time.Second)}},
		{"idle_timeout as string", base + "idle_timeout: \"1s\"\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", IdleTimeout: api.Duration(time.Second)}},
		{"memory quoted", base + "memory: \"512\"\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 512}},
		{"memory bounds", base + "memory: 16384\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 16384}},
		{"min_instances 0 is explicit and fine", base + "min_instances: 0\n",
			api.FunctionSpec{Name: "hello", Runtime: "go"}},
		{"min equals max", base + "min_instances: 3\nmax_instances: 3\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", MinInstances: 3, MaxInstances: 3}},
		{"min up to the default max", base + "min_instances: 10\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", MinInstances: 10}},
		{"config merged into env", base + "env:\n  A: \"1\"\nconfig:\n  B: two\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", Env: map[string]string{"A": "1", "B": "two"}}},
		{"env values of any scalar type become strings", base + "env:\n  N: 8080\n  B: true\n  E:\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", Env: map[string]string{"N": "8080", "B": "true", "E": ""}}},
		{"fn harmless keys are ignored", `schema_version: 20180708
name: hello
runtime: go
format: http-stream
build_image: fnproject/go:dev
run_image: fnproject/go
triggers:
  - name: hello
    type: http
    source: /hello
`, api.FunctionSpec{Name: "hello", Runtime: "go"}},
		{"null values are left out", base + "timeout:\nmemory: ~\n",
			api.FunctionSpec{Name: "hello", Runtime: "go"}},
		{"anchors and aliases", "name: &n hello\nruntime: go\nenv:\n  NAME: *n\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", Env: map[string]string{"NAME": "hello"}}},
		{"name of 63 characters", "name: a" + strings.Repeat("b", 62) + "\nruntime: go\n",
			api.FunctionSpec{Name: "a" + strings.Repeat("b", 62), Runtime: "go"}},
		{"name with digits and inner dashes", "name: a1--b2\nruntime: go\n",
			api.FunctionSpec{Name: "a1--b2", Runtime: "go"}},
		{"comments", "# a function\n" + base + "# end\n", api.FunctionSpec{Name: "hello", Runtime: "go"}},
		{"public", base + "public: true\n", api.FunctionSpec{Name: "hello", Runtime: "go", Public: true}},
		{"public false is the default", base + "public: false\n", api.FunctionSpec{Name: "hello", Runtime: "go"}},
		{"every hardening field relaxed", base + `user: root
writable_root: true
tmp_size: 100
pids: 2048
nofile: 65536
cap_add: [NET_BIND_SERVICE, cap_chown, Kill]
network: none
`, api.FunctionSpec{Name: "hello", Runtime: "go", User: "root", WritableRoot: true, TmpSizeMB: 100,
			PidsLimit: 2048, NoFile: 65536, CapAdd: []string{"NET_BIND_SERVICE", "CHOWN", "KILL"}, Network: "none"}},
		{"user as a YAML number", base + "user: 1000\n", api.FunctionSpec{Name: "hello", Runtime: "go", User: "1000"}},
		{"user uid:gid", base + "user: \"1000:2000\"\n", api.FunctionSpec{Name: "hello", Runtime: "go", User: "1000:2000"}},
		{"user 0 with cap_add", base + "user: \"0:0\"\ncap_add: [SETUID]\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", User: "0:0", CapAdd: []string{"SETUID"}}},
		{"tmp_size up to memory", base + "memory: 256\ntmp_size: 256\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 256, TmpSizeMB: 256}},
		{"bounds of pids and nofile", base + "pids: 16\nnofile: 1048576\n",
			api.FunctionSpec{Name: "hello", Runtime: "go", PidsLimit: 16, NoFile: 1048576}},
		{"empty cap_add", base + "cap_add: []\n", api.FunctionSpec{Name: "hello", Runtime: "go"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseDoesNotApplyDefaults(t *testing.T) {
	got, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got.MemoryMB != 0 || got.Timeout != 0 || got.Concurrency != 0 || got.MaxInstances != 0 {
		t.Fatalf("defaults applied: %+v", got)
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		field      string // first FieldError's field
		reasonPart string
	}{
		{"empty file", "", "name", "is required"},
		{"name missing", "runtime: go\n", "name", "is required"},
		{"runtime missing", "name: hello\n", "runtime", "is required"},
		{"name too short", "name: a\nruntime: go\n", "name", "2 to 63"},
		{"name too long", "name: a" + strings.Repeat("b", 63) + "\nruntime: go\n", "name", "2 to 63"},
		{"name uppercase", "name: Hello\nruntime: go\n", "name", "lowercase"},
		{"name starts with digit", "name: 1hello\nruntime: go\n", "name", "start with a letter"},
		{"name starts with dash", "name: -hello\nruntime: go\n", "name", "start with a letter"},
		{"name ends with dash", "name: hello-\nruntime: go\n", "name", "not end with '-'"},
		{"name with underscore", "name: hello_world\nruntime: go\n", "name", "lowercase"},
		{"name with slash (Fn image style)", "name: fnproject/hello\nruntime: go\n", "name", "lowercase"},
		{"name is a list", "name: [a]\nruntime: go\n", "name", "must be a string"},
		{"unknown key", base + "memroy: 128\n", "memroy", `unknown field: did you mean "memory"?`},
		{"unknown key, nothing near", base + "colour: red\n", "colour", "unknown field (known fields: "},
		{"constraints a list", base + "constraints: [zone=a]\n", "constraints", "mapping of node label"},
		{"constraint without value", base + "constraints:\n  zone:\n", "constraints.zone", "must be a value"},
		{"constraint bad label", base + "constraints:\n  \"-zone\": a\n", "constraints.-zone", "not a label name"},
		{"unknown Fn key we do not accept", base + "cmd: x\n", "cmd", "unknown field"},
		{"duplicate key", base + "memory: 128\nmemory: 256\n", "memory", "set twice"},
		{"handler and entrypoint", base + "handler: a\nentrypoint: b\n", "entrypoint", "use one of"},
		{"memory too small", base + "memory: 8\n", "memory", "16 to 16384"},
		{"memory too large", base + "memory: 16385\n", "memory", "16 to 16384"},
		{"memory zero", base + "memory: 0\n", "memory", "16 to 16384"},
		{"memory negative", base + "memory: -128\n", "memory", "16 to 16384"},
		{"memory with unit", base + "memory: 256Mi\n", "memory", "whole number of megabytes"},
		{"memory fractional", base + "memory: 12.5\n", "memory", "whole number"},
		{"memory bool", base + "memory: true\n", "memory", "whole number"},
		{"cpu zero", base + "cpu: 0\n", "cpu", "positive CPU amount"},
		{"cpu zero milli", base + "cpu: 0m\n", "cpu", "positive CPU amount"},
		{"cpu negative", base + "cpu: -1\n", "cpu", "positive CPU amount"},
		{"cpu below a millicore", base + "cpu: 0.0001\n", "cpu", "positive CPU amount"},
		{"cpu fraction of a millicore", base + "cpu: 0.0015\n", "cpu", "positive CPU amount"},
		{"cpu garbage", base + "cpu: lots\n", "cpu", "positive CPU amount"},
		{"cpu fractional milli", base + "cpu: 1.5m\n", "cpu", "positive CPU amount"},
		{"cpu NaN", base + "cpu: NaN\n", "cpu", "positive CPU amount"},
		{"cpu huge", base + "cpu: 1e30\n", "cpu", "positive CPU amount"},
		{"timeout zero", base + "timeout: 0\n", "timeout", `must be a positive duration such as "30s"`},
		{"timeout zero string", base + "timeout: 0s\n", "timeout", "positive duration"},
		{"timeout negative", base + "timeout: -5s\n", "timeout", "positive duration"},
		{"timeout too long", base + "timeout: 16m\n", "timeout", "at most 15m0s"},
		{"timeout seconds too long", base + "timeout: 901\n", "timeout", "at most 15m0s"},
		{"timeout garbage", base + "timeout: soon\n", "timeout", "positive duration"},
		{"timeout bool", base + "timeout: yes\n", "timeout", "positive duration"},
		{"timeout mapping", base + "timeout: {s: 1}\n", "timeout", "positive duration"},
		{"idle_timeout below 1s", base + "idle_timeout: 500ms\n", "idle_timeout", "at least 1s"},
		{"idle_timeout fractional seconds", base + "idle_timeout: 0.5\n", "idle_timeout", "at least 1s"},
		{"idle_timeout zero", base + "idle_timeout: 0\n", "idle_timeout", "at least 1s"},
		{"idle_timeout negative", base + "idle_timeout: -1\n", "idle_timeout", "at least 1s"},
		{"concurrency zero", base + "concurrency: 0\n", "concurrency", "1 to 1000"},
		{"concurrency negative", base + "concurrency: -1\n", "concurrency", "1 to 1000"},
		{"concurrency too high", base + "concurrency: 1001\n", "concurrency", "1 to 1000"},
		{"concurrency overflow", base + "concurrency: 99999999999\n", "concurrency", "1 to 1000"},
		{"min_instances negative", base + "min_instances: -1\n", "min_instances", "0 or more"},
		{"min_instances garbage", base + "min_instances: some\n", "min_instances", "0 or more"},
		{"max_instances zero", base + "max_instances: 0\n", "max_instances", "1 or more"},
		{"max_instances negative", base + "max_instances: -2\n", "max_instances", "1 or more"},
		{"max below min", base + "min_instances: 4\nmax_instances: 2\n", "max_instances", "at least min_instances (4)"},
		{"min above the default max", base + "min_instances: 11\n", "max_instances", "at least min_instances (11)"},
		{"env not a map", base + "env: [A]\n", "env", "mapping"},
		{"env bad key", base + "env:\n  1A: x\n", "env.1A", "valid variable name"},
		{"env key with dash", base + "env:\n  MY-VAR: x\n", "env.MY-VAR", "valid variable name"},
		{"env reserved PORT", base + "env:\n  PORT: \"9000\"\n", "env.PORT", "set by the platform"},
		{"env nested value", base + "env:\n  A:\n    B: c\n", "env.A", "string, number or boolean"},
		{"config bad key", base + "config:\n  \"a b\": x\n", "config.a b", "valid variable name"},
		{"config and env both set a key", base + "env:\n  A: x\nconfig:\n  A: y\n", "config.A", "also set in env"},
		{"public as a string", base + "public: \"true\"\n", "public", "true or false"},
		{"public yes", base + "public: yes\n", "public", "true or false"},
		{"writable_root as a number", base + "writable_root: 1\n", "writable_root", "true or false"},
		{"user by name", base + "user: nobody\n", "user", `"root", a numeric uid`},
		{"user with a named group", base + "user: \"1000:staff\"\n", "user", "uid:gid"},
		{"user negative", base + "user: -1\n", "user", "numeric uid"},
		{"user too large", base + "user: 4294967296\n", "user", "numeric uid"},
		{"user with leading zero", base + "user: \"01000\"\n", "user", "numeric uid"},
		{"user empty gid", base + "user: \"1000:\"\n", "user", "uid:gid"},
		{"user bool", base + "user: true\n", "user", "numeric uid"},
		{"tmp_size zero", base + "tmp_size: 0\n", "tmp_size", "from 1 to the function's memory"},
		{"tmp_size with a unit", base + "tmp_size: 64Mi\n", "tmp_size", "whole number of megabytes"},
		{"tmp_size over memory", base + "memory: 128\ntmp_size: 129\n", "tmp_size", "counts against it (memory is 128)"},
		{"tmp_size over the default memory", base + "tmp_size: 200\n", "tmp_size", "memory is 128"},
		{"pids too few", base + "pids: 15\n", "pids", "16 to 32768"},
		{"pids too many", base + "pids: 40000\n", "pids", "16 to 32768"},
		{"pids zero", base + "pids: 0\n", "pids", "16 to 32768"},
		{"nofile too few", base + "nofile: 10\n", "nofile", "64 to 1048576"},
		{"nofile too many", base + "nofile: 2000000\n", "nofile", "64 to 1048576"},
		{"cap_add not a list", base + "user: root\ncap_add: NET_BIND_SERVICE\n", "cap_add", "must be a list"},
		{"cap_add not allowed", base + "user: root\ncap_add: [SYS_ADMIN]\n", "cap_add[0]", `"SYS_ADMIN" must be a list of capability names out of CHOWN`},
		{"cap_add ALL", base + "user: root\ncap_add: [CHOWN, ALL]\n", "cap_add[1]", `"ALL"`},
		{"cap_add twice", base + "user: root\ncap_add: [KILL, cap_kill]\n", "cap_add[1]", "listed twice"},
		{"cap_add nested", base + "user: root\ncap_add: [[KILL]]\n", "cap_add[0]", "must be a list"},
		{"cap_add without root", base + "cap_add: [NET_BIND_SERVICE]\n", "cap_add", "needs user: root"},
		{"cap_add with a non-root uid", base + "user: 1000\ncap_add: [NET_BIND_SERVICE]\n", "cap_add", "needs user: root"},
		{"network host", base + "network: host\n", "network", `must be "none"`},
		{"network bridge", base + "network: bridge\n", "network", `must be "none"`},
		{"network list", base + "network: [none]\n", "network", `must be "none"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reasonPart) {
				t.Fatalf("got field %q reason %q, want field %q reason containing %q", fe.Field, fe.Reason, tt.field, tt.reasonPart)
			}
			if !strings.HasPrefix(err.Error(), `func.yaml: field "`) {
				t.Fatalf("message %q does not start with func.yaml: field", err)
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	_, err := Parse([]byte(base + "timeout: 0\n"))
	want := `func.yaml: field "timeout": must be a positive duration such as "30s"`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte("name: X\nmemory: 1\nbogus: 1\n"))
	if err == nil {
		t.Fatal("want error")
	}
	for _, part := range []string{`"name"`, `"runtime"`, `"memory"`, `"bogus"`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("message %q does not mention %s", err, part)
		}
	}
}

func TestParseSyntaxError(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int
	}{
		{"bad indentation", "name: hello\n  runtime: go\n", 2},
		{"unclosed quote", "name: hello\nruntime: \"go\n", 2},
		{"tab indentation", "name: hello\nenv:\n\tA: b\n", 3},
		{"top level is a list", "- name: hello\n", 1},
		{"top level is a scalar", "hello\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want a *SyntaxError wrapping ErrInvalid", err)
			}
			if se.Line != tt.line {
				t.Fatalf("line %d, want %d (%v)", se.Line, tt.line, err)
			}
			if !strings.Contains(err.Error(), "func.yaml: line ") {
				t.Fatalf("message %q has no line", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := api.FunctionSpec{Name: "hello", Runtime: "go"}
	if err := Validate(ok); err != nil {
		t.Fatalf("Validate(minimal): %v", err)
	}
	bad := ok
	bad.Env = map[string]string{"OK": "1", "9BAD": "x"}
	err := Validate(bad)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "env.9BAD" || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate(bad env) = %v", err)
	}
}

// TestValidateSecurity checks the hardening fields as the API path sees them: specs that did not
// come through Parse.
func TestValidateSecurity(t *testing.T) {
	ok := api.FunctionSpec{Name: "hello", Runtime: "go"}
	for _, tt := range []struct {
		name  string
		edit  func(*api.FunctionSpec)
		field string // "" for valid
	}{
		{"defaults", func(*api.FunctionSpec) {}, ""},
		{"small memory shrinks the default /tmp", func(s *api.FunctionSpec) { s.MemoryMB = 16 }, ""},
		{"root with caps", func(s *api.FunctionSpec) { s.User, s.CapAdd = "root", []string{"CHOWN", "KILL"} }, ""},
		{"lower-case cap", func(s *api.FunctionSpec) { s.User, s.CapAdd = "root", []string{"chown"} }, "cap_add[0]"},
		{"named user", func(s *api.FunctionSpec) { s.User = "app" }, "user"},
		{"negative tmp", func(s *api.FunctionSpec) { s.TmpSizeMB = -1 }, "tmp_size"},
		{"negative pids", func(s *api.FunctionSpec) { s.PidsLimit = -1 }, "pids"},
		{"negative nofile", func(s *api.FunctionSpec) { s.NoFile = -1 }, "nofile"},
		{"other network", func(s *api.FunctionSpec) { s.Network = "host" }, "network"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := Validate(s)
			var fe *FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Fatalf("Validate = %v, want a problem with %q", err, tt.field)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"ab": true, "hello-world": true, "a1": true, "": false, "a": false, "A1": false,
		"1a": false, "a-": false, "a.b": false, "a_b": false, "ab/c": false,
	} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(empty dir) = %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := Load(dir)
	if err != nil || spec.Name != "hello" {
		t.Fatalf("Load = %+v, %v", spec, err)
	}
	spec, err = LoadFS(fstest.MapFS{FileName: {Data: []byte("name: fs-fn\nruntime: go\n")}})
	if err != nil || spec.Name != "fs-fn" {
		t.Fatalf("LoadFS = %+v, %v", spec, err)
	}
}
