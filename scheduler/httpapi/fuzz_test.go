package httpapi

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
)

// FuzzDecodeConfigPatch feeds decodeConfigPatch arbitrary PATCH bodies. It must not panic; a
// body it accepts sets only settings the API knows, and only those the body names; a body it
// refuses names the offending field, or none for a body that is wrong as a whole.
func FuzzDecodeConfigPatch(f *testing.F) {
	for _, seed := range []string{
		`{"max_instances": 5}`,
		`{"memory": 256, "cpu": "500m", "timeout": "30s"}`, `{"cpu": 0.5}`, `{"cpu": "0"}`, `{"cpu": ""}`,
		`{"cpu": "lots"}`, `{"cpu": "1.0005"}`, `{"memory": 1, "memory_mb": 2}`, `{"memroy": 256}`,
		`{"memory_mb": 256, "cpu_milli": 500, "timeout": "30s", "idle_timeout": "10s", "pause_timeout": 300,
		  "concurrency": 4, "min_instances": 1, "max_instances": 5, "queue": 100,
		  "env": {"GREETING": "hi", "OLD": null, "ALSO_OLD": ""}}`,
		`{}`, `null`, `[]`, `"x"`, `{"memory_mb": null}`, `{"memory_mb": "256"}`, `{"memory_mb": 1e400}`,
		`{"memory_mb": 9223372036854775808}`, `{"timeout": -1}`, `{"timeout": "1h1h1h"}`, `{"timeout": 1.5}`,
		`{"env": null}`, `{"env": []}`, `{"env": {"A": 1}}`, `{"env": {"": "x", "1": null}}`,
		`{"bogus": 1}`, `{"max_instances": 5, "max_instances": 6}`, `{"Max_Instances": 5}`,
		`{"max_instances": 5}garbage`, `{"env": {"A": "\u0000"}}`, "\xff\xfe{", `{"queue": {"a": 1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		patch, _, field, err := decodeConfigPatch(body)
		var sent map[string]json.RawMessage
		_ = json.Unmarshal(body, &sent)
		if err != nil {
			if field != "" && sent[field] == nil && !strings.HasPrefix(field, "env.") {
				t.Fatalf("error %v names field %q, which the body does not have", err, field)
			}
			return
		}
		if field != "" {
			t.Fatalf("success with a field %q", field)
		}
		out, merr := json.Marshal(patch)
		if merr != nil {
			t.Fatal(merr)
		}
		var set map[string]json.RawMessage
		if err := json.Unmarshal(out, &set); err != nil {
			t.Fatal(err)
		}
		for k := range set {
			if !slices.Contains(api.ConfigKeys, k) {
				t.Fatalf("the patch sets %q, which is not a setting", k)
			}
			if _, ok := sent[k]; !ok && !sentOldName(sent, k) {
				t.Fatalf("the patch sets %q, which the body %q does not name", k, body)
			}
		}
		var env map[string]json.RawMessage
		_ = json.Unmarshal(sent["env"], &env)
		for k := range patch.Env {
			if _, ok := env[k]; !ok {
				t.Fatalf("the patch sets env %q, which the body does not name (env keys %v)", k, slices.Collect(maps.Keys(env)))
			}
		}
	})
}

// FuzzInvokeTarget feeds invokeTarget arbitrary escaped paths. What it accepts splits into a
// non-empty name without "/" and a rest starting with "/" that together are the path; what it
// refuses is not an /invoke/{name} path.
func FuzzInvokeTarget(f *testing.F) {
	for _, seed := range []string{
		"/invoke/hello", "/invoke/hello/", "/invoke/hello/a/b?c", "/invoke/hello/a%2Fb", "/invoke/", "/invoke",
		"/invoke//x", "/invoke/%2F/x", "/invoke/../v1/functions", "/v1/functions", "", "/", "/invoke/hello//",
		"/INVOKE/hello", "/invoke/hello%00/x", "//invoke/hello", "/invoke/\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		name, rest, ok := invokeTarget(path)
		if !ok {
			if name != "" || rest != "" {
				t.Fatalf("refused %q but returned %q, %q", path, name, rest)
			}
			tail, found := strings.CutPrefix(path, "/invoke/")
			if found && tail != "" && !strings.HasPrefix(tail, "/") {
				t.Fatalf("refused %q, an /invoke/{name} path", path)
			}
			return
		}
		if name == "" || strings.Contains(name, "/") || !strings.HasPrefix(rest, "/") {
			t.Fatalf("%q split into name %q and rest %q", path, name, rest)
		}
		if whole := "/invoke/" + name + rest; whole != path && !(rest == "/" && path == "/invoke/"+name) {
			t.Fatalf("%q split into %q and %q, which make %q", path, name, rest, whole)
		}
	})
}

// sentOldName reports whether the body named setting k by its old name (memory_mb for memory).
func sentOldName(sent map[string]json.RawMessage, k string) bool {
	for old, now := range api.DeprecatedConfigKeys {
		if _, ok := sent[old]; ok && now == k {
			return true
		}
	}
	return false
}
