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
	"strings"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
)

// maxConfigBytes bounds a PATCH .../config body: settings and env, nowhere near a source upload.
const maxConfigBytes = 1 << 20

// configure answers PATCH /v1/functions/{name}/config with the function as it now is. The body
// is read strictly: an unknown key or a value of the wrong type is a 400 naming the field,
// before the registry sees anything.
func (h *handlers) configure(w http.ResponseWriter, r *http.Request) {
	if !requireContentType(w, r, "application/json") {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBytes))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	patch, field, err := decodeConfigPatch(body)
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

// configFields decode one key of a ConfigPatch; what says what a good value looks like.
var configFields = map[string]struct {
	into func(p *api.ConfigPatch) any
	what string
}{
	"memory_mb":     {func(p *api.ConfigPatch) any { return &p.MemoryMB }, "a whole number of megabytes, such as 256"},
	"cpu_milli":     {func(p *api.ConfigPatch) any { return &p.CPUMilli }, "a whole number of millicores, such as 500"},
	"timeout":       {func(p *api.ConfigPatch) any { return &p.Timeout }, `a duration such as "30s" or a number of seconds`},
	"idle_timeout":  {func(p *api.ConfigPatch) any { return &p.IdleTimeout }, `a duration such as "30s" or a number of seconds`},
	"pause_timeout": {func(p *api.ConfigPatch) any { return &p.PauseTimeout }, `a duration such as "5m" or a number of seconds`},
	"concurrency":   {func(p *api.ConfigPatch) any { return &p.Concurrency }, "a whole number, such as 4"},
	"min_instances": {func(p *api.ConfigPatch) any { return &p.MinInstances }, "a whole number, such as 1"},
	"max_instances": {func(p *api.ConfigPatch) any { return &p.MaxInstances }, "a whole number, such as 10"},
	"queue":         {func(p *api.ConfigPatch) any { return &p.Queue }, "a whole number, such as 100"},
	"public":        {func(p *api.ConfigPatch) any { return &p.Public }, "true or false"},
}

// decodeConfigPatch reads a PATCH body. On error it also returns the offending field ("" when
// the body as a whole is wrong). Whether the values are in range is the registry's business.
func decodeConfigPatch(body []byte) (api.ConfigPatch, string, error) {
	var p api.ConfigPatch
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return p, "", errors.New(`the body must be a JSON object of the settings to change, such as {"max_instances": 5}`)
	}
	// Sorted, so that of several bad keys the same one is always reported.
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		if k == "env" {
			env, field, err := decodeEnv(v)
			if err != nil {
				return p, field, err
			}
			p.Env = env
			continue
		}
		f, ok := configFields[k]
		if !ok {
			return p, k, fmt.Errorf("unknown setting %q: the settings are %s", k, strings.Join(api.ConfigKeys, ", "))
		}
		if isNull(v) {
			return p, k, fmt.Errorf("setting %q: null is not a value: give %s, or leave the key out", k, f.what)
		}
		if err := json.Unmarshal(v, f.into(&p)); err != nil {
			return p, k, fmt.Errorf("setting %q: must be %s", k, f.what)
		}
	}
	return p, "", nil
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
