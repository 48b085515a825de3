package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/suggest"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// maxConfigBytes bounds a PATCH .../config body: settings and env, nowhere near a source upload.
const maxConfigBytes = 1 << 20

// configure answers PATCH /v1/functions/{name}/config with the function as it now is. The body
// is read strictly: an unknown key or a value of the wrong type is a 400 naming the field,
// before the registry sees anything. An old key ("memory_mb", "cpu_milli") works, and the
// answer carries a Warning header per old key saying what to write instead.
func (h *handlers) configure(w http.ResponseWriter, r *http.Request) {
	if !requireContentType(w, r, "application/json") {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBytes))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	patch, deprecated, field, err := decodeConfigPatch(body)
	for _, old := range deprecated {
		w.Header().Add("Warning", deprecationWarning(old))
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeInvalid, err.Error(), field)
		return
	}
	fn, err := h.Registry.Configure(r.Context(), mux.Vars(r)["name"], patch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fn)
}

// deprecationWarning is the Warning header (RFC 9111's 299, "miscellaneous persistent
// warning") telling a client that a key it sent is an old name: clients that show warnings
// (hearth's CLI does) pass it on; others ignore it.
func deprecationWarning(old string) string {
	return fmt.Sprintf(`299 - "%s is deprecated; use %s"`, old, api.DeprecatedConfigKeys[old])
}

// configField decodes one key of a ConfigPatch into p; reason says what a good value is
// ("must be ..."), in func.yaml's words where func.yaml has the setting.
type configField struct {
	decode func(p *api.ConfigPatch, v json.RawMessage) error
	reason string
}

// into makes a configField's decode from where the value goes.
func into(dst func(p *api.ConfigPatch) any) func(p *api.ConfigPatch, v json.RawMessage) error {
	return func(p *api.ConfigPatch, v json.RawMessage) error { return json.Unmarshal(v, dst(p)) }
}

var configFields = map[string]configField{
	"memory": {into(func(p *api.ConfigPatch) any { return &p.MemoryMB }), funcfile.MemoryReason},
	"cpu": {func(p *api.ConfigPatch, v json.RawMessage) error {
		// A number is cores, as func.yaml's `cpu: 2`; a string is as func.yaml writes it.
		var s string
		if json.Unmarshal(v, &s) != nil {
			var cores float64
			if err := json.Unmarshal(v, &cores); err != nil {
				return err
			}
			s = strconv.FormatFloat(cores, 'f', -1, 64)
		}
		milli, err := api.ParseCPULimit(s)
		p.CPUMilli = &milli
		return err
	}, funcfile.CPUReason + `, or "0" for no limit`},
	"timeout":       {into(func(p *api.ConfigPatch) any { return &p.Timeout }), `must be a duration such as "30s" or a number of seconds`},
	"idle_timeout":  {into(func(p *api.ConfigPatch) any { return &p.IdleTimeout }), `must be a duration such as "30s" or a number of seconds`},
	"pause_timeout": {into(func(p *api.ConfigPatch) any { return &p.PauseTimeout }), `must be a duration such as "5m" or a number of seconds`},
	"concurrency":   {into(func(p *api.ConfigPatch) any { return &p.Concurrency }), "must be a whole number, such as 4"},
	"min_instances": {into(func(p *api.ConfigPatch) any { return &p.MinInstances }), "must be a whole number, such as 1"},
	"max_instances": {into(func(p *api.ConfigPatch) any { return &p.MaxInstances }), "must be a whole number, such as 10"},
	"queue":         {into(func(p *api.ConfigPatch) any { return &p.Queue }), "must be a whole number, such as 100"},
	"public":        {into(func(p *api.ConfigPatch) any { return &p.Public }), "must be true or false"},
	// The old names (api.DeprecatedConfigKeys), read as they always were.
	"memory_mb": {into(func(p *api.ConfigPatch) any { return &p.MemoryMB }), "must be a whole number of megabytes, such as 256 (memory_mb is deprecated; use memory)"},
	"cpu_milli": {into(func(p *api.ConfigPatch) any { return &p.CPUMilli }), `must be a whole number of millicores, such as 500 (cpu_milli is deprecated; use cpu, such as "500m")`},
}

// decodeConfigPatch reads a PATCH body. It returns the old key names the body used, and on
// error the offending field ("" when the body as a whole is wrong). Whether the values are in
// range is the registry's business.
func decodeConfigPatch(body []byte) (p api.ConfigPatch, deprecated []string, field string, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return p, nil, "", errors.New(`the body must be a JSON object of the settings to change, such as {"max_instances": 5}`)
	}
	// Sorted, so that of several bad keys the same one is always reported.
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		if k == "env" {
			env, field, err := decodeEnv(v)
			if err != nil {
				return p, deprecated, field, err
			}
			p.Env = env
			continue
		}
		f, ok := configFields[k]
		if !ok {
			hint := ""
			if near := suggest.Closest(k, api.ConfigKeys); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			return p, deprecated, k, fmt.Errorf("unknown setting %q%s: the settings are %s", k, hint, strings.Join(api.ConfigKeys, ", "))
		}
		if now, old := api.DeprecatedConfigKeys[k]; old {
			deprecated = append(deprecated, k)
			if _, both := raw[now]; both {
				return p, deprecated, k, fmt.Errorf("%q and %q are the same setting: give only %q", now, k, now)
			}
		}
		if isNull(v) {
			return p, deprecated, k, fmt.Errorf("setting %q: null is not a value (it %s): leave the key out to keep the current value", k, f.reason)
		}
		if err := f.decode(&p, v); err != nil {
			return p, deprecated, k, fmt.Errorf("setting %q: %s", k, f.reason)
		}
	}
	return p, deprecated, "", nil
}

// decodeEnv reads the env object: string values set, null or "" remove.
func decodeEnv(v json.RawMessage) (map[string]*string, string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil || raw == nil {
		return nil, "env", errors.New(`setting "env": must be an object of variables, such as {"GREETING": "hi"}; a null or "" value removes a variable`)
	}
	env := make(map[string]*string, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		rv := raw[k]
		if isNull(rv) {
			env[k] = nil
			continue
		}
		var s string
		if err := json.Unmarshal(rv, &s); err != nil {
			return nil, "env." + k, fmt.Errorf("setting %q: must be a string (quote numbers), or null to remove the variable", "env."+k)
		}
		env[k] = &s
	}
	return env, "", nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }
