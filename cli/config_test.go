package cli_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// configEnv is an env whose server also answers PATCH /v1/functions/{name}/config the way the
// real one does: strict body, merged env, funcfile validation, a new version only on a change.
type configEnv struct {
	*env
	patches []string // the bodies received
}

func newConfigEnv(t *testing.T) *configEnv {
	t.Helper()
	e := &configEnv{env: newEnv(t)}
	f := e.api
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/functions/{name}", f.get)
	mux.HandleFunc("PATCH /v1/functions/{name}/config", e.configure)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.srv = srv
	e.opts.HTTPClient = srv.Client()
	e.opts.Getenv = func(k string) string {
		if k == "HEARTH_API" {
			return srv.URL
		}
		return ""
	}
	f.put(api.Function{Name: "hello", Version: api.Version{Number: 2, Image: "hearth/hello:abc", SourceHash: "abc",
		Spec: api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 256, Env: map[string]string{"GREETING": "hi", "MODE": "fast"}}}})
	return e
}

func (e *configEnv) configure(w http.ResponseWriter, r *http.Request) {
	var body json.RawMessage
	_ = json.NewDecoder(r.Body).Decode(&body)
	e.patches = append(e.patches, string(body))
	var p api.ConfigPatch
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeErr(w, 400, api.CodeInvalid, err.Error(), "")
		return
	}
	f := e.api
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.functions[r.PathValue("name")]
	if !ok {
		writeErr(w, 404, api.CodeNotFound, fmt.Sprintf("function %q not found", r.PathValue("name")), "")
		return
	}
	spec := p.Apply(fn.Version.Spec)
	if err := funcfile.Validate(spec); err != nil {
		var fe *funcfile.FieldError
		errors.As(err, &fe)
		writeErr(w, 400, api.CodeInvalid, fmt.Sprintf("setting %q: %s", fe.Field, fe.Reason), fe.Field)
		return
	}
	if !reflect.DeepEqual(spec.WithDefaults(), fn.Version.Spec.WithDefaults()) {
		fn.Version.Number++
		fn.Version.Spec = spec
		f.functions[fn.Name] = fn
	}
	writeJSON(w, 200, fn)
}

const helloSettings = "" +
	"SETTING         VALUE\n" +
	"memory          256\n" +
	"cpu             0 (no limit)\n" +
	"timeout         30s\n" +
	"idle_timeout    30s\n" +
	"pause_timeout   5m0s\n" +
	"concurrency     1\n" +
	"min_instances   0\n" +
	"max_instances   10\n" +
	"queue           100\n" +
	"public          false\n" +
	"env.GREETING    hi\n" +
	"env.MODE        fast\n"

func TestConfigShow(t *testing.T) {
	e := newConfigEnv(t)
	r := e.run("config", "hello")
	r.wantCode(t, cli.ExitOK)
	if r.stdout != helloSettings {
		t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, helloSettings)
	}
	if len(e.patches) != 0 {
		t.Errorf("showing sent patches %q", e.patches)
	}

	// JSON is the shape PATCH takes, every setting filled in.
	r = e.run("config", "hello", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	want := map[string]any{"memory": 256.0, "cpu": "0", "timeout": "30s", "idle_timeout": "30s",
		"pause_timeout": "5m0s", "concurrency": 1.0, "min_instances": 0.0, "max_instances": 10.0, "queue": 100.0,
		"public": false, "env": map[string]any{"GREETING": "hi", "MODE": "fast"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("json = %v, want %v", got, want)
	}
}

func TestConfigSet(t *testing.T) {
	e := newConfigEnv(t)
	r := e.run("config", "hello", "idle_timeout=10s", "pause_timeout=90", "max_instances=5", "queue=20",
		"env.GREETING=hello=world", "env.MODE=", "env.NEW=1")
	r.wantCode(t, cli.ExitOK)
	wantBody := `{"idle_timeout":"10s","pause_timeout":"1m30s","max_instances":5,"queue":20,"env":{"GREETING":"hello=world","MODE":null,"NEW":"1"}}`
	if len(e.patches) != 1 || e.patches[0] != wantBody {
		t.Errorf("patches = %q, want [%s]", e.patches, wantBody)
	}
	if r.stderr != "hello is at version 3\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
	for _, want := range []string{
		"idle_timeout    10s\n", "pause_timeout   1m30s\n", "max_instances   5\n", "queue           20\n",
		"env.GREETING    hello=world\n", "env.NEW         1\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "env.MODE") {
		t.Errorf("env.MODE still shown after unsetting it:\n%s", r.stdout)
	}

	// The same again changes nothing: the server keeps the version.
	r = e.run("config", "hello", "max_instances=5", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	if r.stderr != "hello is at version 3\n" || !strings.Contains(r.stdout, `"max_instances": 5`) {
		t.Errorf("unchanged: stderr %q stdout\n%s", r.stderr, r.stdout)
	}
}

func TestConfigBadInput(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no equals", []string{"max_instances"},
			`"max_instances" is not a setting: write KEY=VALUE, such as max_instances=5 or env.GREETING=hi`},
		{"unknown key", []string{"replicas=3"},
			`unknown setting "replicas": use one of memory, cpu, timeout, idle_timeout, pause_timeout, concurrency, min_instances, max_instances, queue, public, env.KEY`},
		{"typo", []string{"max_instance=5"}, `unknown setting "max_instance" (did you mean max_instances?): use one of memory,`},
		{"memory typo", []string{"memroy=1"}, `unknown setting "memroy" (did you mean memory?): use one of memory, cpu,`},
		{"env alone", []string{"env=A"}, `unknown setting "env" (did you mean env.KEY?)`},
		{"bad number", []string{"max_instances=five"}, `max_instances: "five" is not a whole number: use a value such as max_instances=5`},
		{"fractional memory", []string{"memory=1.5"}, `memory: "1.5" must be a whole number of megabytes from 16 to 16384, such as 256`},
		{"old fractional memory", []string{"memory_mb=1.5"}, `memory_mb: "1.5" is not a whole number: use memory=256 (memory_mb is deprecated)`},
		{"cpu not an amount", []string{"cpu=lots"}, `cpu: "lots" must be a positive CPU amount such as "100m" (millicores) or "0.5" (cores), or 0 for no limit`},
		{"cpu finer than a millicore", []string{"cpu=0.0005"}, `cpu: "0.0005" must be a positive CPU amount`},
		{"old cpu in func.yaml form", []string{"cpu_milli=500m"}, `cpu_milli: "500m" is not a whole number of millicores: use cpu=500m (cpu_milli is deprecated)`},
		{"empty cpu", []string{"cpu="}, "cpu needs a value, such as cpu=500m"},
		{"empty old memory", []string{"memory_mb="}, "memory needs a value, such as memory=256 (memory_mb is deprecated)"},
		{"both spellings", []string{"memory=256", "memory_mb=256"}, "memory is given twice (as memory and memory_mb): give each setting once"},
		{"bad duration", []string{"idle_timeout=soon"}, `idle_timeout: "soon" is not a duration: use a value such as idle_timeout=30s`},
		{"empty value", []string{"timeout="}, "timeout needs a value, such as timeout=30s"},
		{"env without a name", []string{"env.=x"}, "env. needs a variable name: write env.GREETING=hi to set one, env.GREETING= to remove it"},
		{"twice", []string{"queue=1", "queue=2"}, "queue is given twice: give each setting once"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newConfigEnv(t)
			r := e.run(append([]string{"config", "hello"}, tt.args...)...)
			r.wantCode(t, cli.ExitError)
			if !strings.HasPrefix(r.stderr, "Error: "+tt.msg) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting %q", r.stderr, "Error: "+tt.msg)
			}
			if len(e.patches) != 0 {
				t.Errorf("bad input was sent: %q", e.patches)
			}
		})
	}
}

func TestConfigServerRefuses(t *testing.T) {
	e := newConfigEnv(t)
	r := e.run("config", "hello", "queue=20000")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, `the server rejected the new settings of hello: setting "queue": must be a whole number from 1 to 10000`)

	r = e.run("config", "hello", "env.1A=x")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, `the server rejected the new settings of hello: setting "env.1A": is not a valid variable name: use letters, digits and '_', not starting with a digit`)
}

func TestConfigUnknownFunction(t *testing.T) {
	e := newConfigEnv(t)
	for _, args := range [][]string{{"config", "nope"}, {"config", "nope", "queue=5"}} {
		r := e.run(args...)
		r.wantCode(t, cli.ExitError)
		r.wantError(t, `function "nope" not found`)
	}
}

func TestConfigNeedsName(t *testing.T) {
	e := newConfigEnv(t)
	r := e.run("config")
	r.wantCode(t, cli.ExitUsage)
	if !strings.HasPrefix(r.stderr, "Error: hearth config needs NAME\n") {
		t.Errorf("stderr = %q", r.stderr)
	}
}
