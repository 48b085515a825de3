package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
)

// ConfigPatch is the body of PATCH /v1/functions/{name}/config: the settings to change. A field
// left out (nil) keeps its current value. Env is merged into the function's environment key by
// key: a key with a value sets it, a key with null or "" removes it, and keys not named keep
// their values. The change is recorded as a new version with the same image; a later deploy
// applies func.yaml again and so overrides it.
//
// In JSON, MemoryMB is "memory" (megabytes) and CPUMilli is "cpu" (a string such as "500m" or
// "0.5", or "0" for no limit), as func.yaml writes them; see MarshalJSON and DeprecatedConfigKeys.
type ConfigPatch struct {
	MemoryMB     *int64    `json:"-"`
	CPUMilli     *int64    `json:"-"`
	Timeout      *Duration `json:"timeout,omitempty"`
	IdleTimeout  *Duration `json:"idle_timeout,omitempty"`
	PauseTimeout *Duration `json:"pause_timeout,omitempty"`
	Concurrency  *int      `json:"concurrency,omitempty"`
	MinInstances *int      `json:"min_instances,omitempty"`
	MaxInstances *int      `json:"max_instances,omitempty"`
	Queue        *int      `json:"queue,omitempty"`
	// Public lets anyone call the function without a token (func.yaml public).
	Public *bool `json:"public,omitempty"`
	// Env sets (non-empty value) or removes (nil or "") environment variables.
	Env map[string]*string `json:"env,omitempty"`
}

// ConfigKeys are the keys of a ConfigPatch, as JSON and `hearth config` write them, in the
// order they are shown.
var ConfigKeys = []string{
	"memory", "cpu", "timeout", "idle_timeout", "pause_timeout",
	"concurrency", "min_instances", "max_instances", "queue", "public", "env",
}

// DeprecatedConfigKeys maps the settings' old names to their names now. The old ones are still
// accepted, with a deprecation note, by `hearth config` and PATCH .../config: "memory_mb" is a
// number of megabytes as "memory" is; "cpu_milli" is a number of millicores (500), where "cpu"
// is written as func.yaml writes it ("500m").
var DeprecatedConfigKeys = map[string]string{"memory_mb": "memory", "cpu_milli": "cpu"}

// configFields is ConfigPatch without its JSON methods.
type configFields ConfigPatch

// MarshalJSON writes the patch with "memory" and "cpu" ("500m", or "0" for no limit) first.
func (p ConfigPatch) MarshalJSON() ([]byte, error) {
	var cpu *string
	if p.CPUMilli != nil {
		c := FormatCPU(*p.CPUMilli)
		if c == "" {
			c = "0"
		}
		cpu = &c
	}
	return json.Marshal(struct {
		Memory *int64  `json:"memory,omitempty"`
		CPU    *string `json:"cpu,omitempty"`
		configFields
	}{p.MemoryMB, cpu, configFields(p)})
}

// UnmarshalJSON reads what MarshalJSON writes, and the old "memory_mb" and "cpu_milli"
// (millicores) too; the new name wins where both are given. It is lenient, for Go clients and
// tests: the server reads PATCH bodies strictly, key by key, in scheduler/httpapi.
func (p *ConfigPatch) UnmarshalJSON(b []byte) error {
	w := struct {
		Memory      *int64          `json:"memory"`
		OldMemoryMB *int64          `json:"memory_mb"`
		CPU         json.RawMessage `json:"cpu"`
		OldCPUMilli *int64          `json:"cpu_milli"`
		*configFields
	}{configFields: (*configFields)(p)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p.MemoryMB = cmp.Or(w.Memory, w.OldMemoryMB, p.MemoryMB)
	switch {
	case len(w.CPU) > 0 && string(w.CPU) != "null":
		milli, err := decodeCPUJSON(w.CPU)
		if err != nil {
			return fmt.Errorf("setting \"cpu\": %w", err)
		}
		p.CPUMilli = &milli
	case w.OldCPUMilli != nil:
		p.CPUMilli = w.OldCPUMilli
	}
	return nil
}

// Apply returns s with p's changes. s is not modified: its Env is copied. An Env left with no
// keys becomes nil.
func (p ConfigPatch) Apply(s FunctionSpec) FunctionSpec {
	setIf(&s.MemoryMB, p.MemoryMB)
	setIf(&s.CPUMilli, p.CPUMilli)
	setIf(&s.Timeout, p.Timeout)
	setIf(&s.IdleTimeout, p.IdleTimeout)
	setIf(&s.PauseTimeout, p.PauseTimeout)
	setIf(&s.Concurrency, p.Concurrency)
	setIf(&s.MinInstances, p.MinInstances)
	setIf(&s.MaxInstances, p.MaxInstances)
	setIf(&s.Queue, p.Queue)
	setIf(&s.Public, p.Public)
	if len(p.Env) > 0 {
		env := maps.Clone(s.Env)
		if env == nil {
			env = map[string]string{}
		}
		for k, v := range p.Env {
			if v == nil || *v == "" {
				delete(env, k)
			} else {
				env[k] = *v
			}
		}
		s.Env = env
	}
	if len(s.Env) == 0 {
		s.Env = nil
	}
	return s
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// SettingsOf returns every setting of s as a patch that sets it, with the server's defaults
// filled in: what `hearth config NAME -o json` prints, and a body PATCH accepts as it is.
func SettingsOf(s FunctionSpec) ConfigPatch {
	s = s.WithDefaults()
	p := ConfigPatch{
		MemoryMB: &s.MemoryMB, CPUMilli: &s.CPUMilli,
		Timeout: &s.Timeout, IdleTimeout: &s.IdleTimeout, PauseTimeout: &s.PauseTimeout,
		Concurrency: &s.Concurrency, MinInstances: &s.MinInstances, MaxInstances: &s.MaxInstances,
		Queue: &s.Queue, Public: &s.Public, Env: map[string]*string{},
	}
	for k, v := range s.Env {
		p.Env[k] = &v
	}
	return p
}
