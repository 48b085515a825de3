package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// One vocabulary for a function's memory and CPU. func.yaml says `memory: 256` (megabytes) and
// `cpu: 500m` or `cpu: 0.5` (cores), so the API, `hearth config` and the dashboard say the same:
// the JSON keys are "memory" (a number of megabytes) and "cpu" (a string such as "500m").
// Earlier versions wrote "memory_mb" and "cpu_milli" (a number of millicores); those are still
// read, because SQLite rows written by them hold specs in that form and old clients send it.
// The Go fields keep their precise names (MemoryMB, CPUMilli): the unit is in the name where
// code does arithmetic on it.

// MaxCPUMilli bounds a CPU amount (1000 cores) only to keep the arithmetic sane; nodes refuse
// what they cannot give.
const MaxCPUMilli = 1_000_000

// ErrInvalidCPU is what ParseCPU and ParseCPULimit return (wrapped) for text that is not a CPU
// amount they take.
var ErrInvalidCPU = errors.New("not a CPU amount")

// ParseCPU reads a CPU amount as func.yaml writes it, Kubernetes-style: "100m" (millicores) or
// "0.5" / "2" (cores), and returns millicores. The amount must be positive, at most
// MaxCPUMilli, and a whole number of millicores, since a finer share cannot be given to a
// container. The error wraps ErrInvalidCPU.
func ParseCPU(s string) (int64, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%w: %q", ErrInvalidCPU, s)
	if m, ok := strings.CutSuffix(s, "m"); ok {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil || n <= 0 || n > MaxCPUMilli {
			return 0, bad
		}
		return n, nil
	}
	cores, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, bad
	}
	return coresToMilli(cores, bad)
}

func coresToMilli(cores float64, bad error) (int64, error) {
	milli := cores * 1000
	if !(milli >= 1 && milli <= MaxCPUMilli) || math.Abs(milli-math.Round(milli)) > 1e-6 {
		return 0, bad
	}
	return int64(math.Round(milli)), nil
}

// ParseCPULimit is ParseCPU for a setting that may also be removed: "0" (or "0m", "0.0")
// means no CPU limit and gives 0. func.yaml has no such value (leaving cpu out is how it says
// "no limit"), but `hearth config cpu=0` and the API need a way to take a limit away.
func ParseCPULimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(strings.TrimSuffix(s, "m"), 64); err == nil && n == 0 {
		return 0, nil
	}
	return ParseCPU(s)
}

// FormatCPU writes millicores the way func.yaml takes them: whole cores as "1" or "2", other
// amounts as "500m" or "1500m", and "" for 0 (no limit).
func FormatCPU(milli int64) string {
	switch {
	case milli == 0:
		return ""
	case milli%1000 == 0:
		return strconv.FormatInt(milli/1000, 10)
	default:
		return strconv.FormatInt(milli, 10) + "m"
	}
}

// decodeCPUJSON reads a "cpu" value: a string ParseCPULimit takes, "" for no limit, or a number
// of cores as in func.yaml's `cpu: 2`.
func decodeCPUJSON(raw json.RawMessage) (int64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if strings.TrimSpace(s) == "" {
			return 0, nil
		}
		return ParseCPULimit(s)
	}
	var cores float64
	if err := json.Unmarshal(raw, &cores); err != nil {
		return 0, fmt.Errorf("%w: %s", ErrInvalidCPU, raw)
	}
	if cores == 0 {
		return 0, nil
	}
	return coresToMilli(cores, fmt.Errorf("%w: %s", ErrInvalidCPU, raw))
}

// specFields is FunctionSpec without its JSON methods, so that they can use encoding/json for
// every other field. MemoryMB and CPUMilli are tagged "-" there and written here.
type specFields FunctionSpec

// MarshalJSON writes the spec with "memory" (megabytes) and "cpu" ("500m"; left out when there
// is no limit) instead of the Go field names.
func (s FunctionSpec) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		specFields
		Memory int64  `json:"memory"`
		CPU    string `json:"cpu,omitempty"`
	}{specFields(s), s.MemoryMB, FormatCPU(s.CPUMilli)})
}

// UnmarshalJSON reads what MarshalJSON writes, and also the old "memory_mb" and "cpu_milli"
// (millicores) that stored specs and old clients have. Where both spellings are present the new
// one wins. Fields not in the JSON keep their values, as encoding/json does for structs.
func (s *FunctionSpec) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	w := struct {
		specFields
		Memory      *int64          `json:"memory"`
		OldMemoryMB *int64          `json:"memory_mb"`
		CPU         json.RawMessage `json:"cpu"`
		OldCPUMilli *int64          `json:"cpu_milli"`
	}{specFields: specFields(*s)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	spec := FunctionSpec(w.specFields)
	switch {
	case w.Memory != nil:
		spec.MemoryMB = *w.Memory
	case w.OldMemoryMB != nil:
		spec.MemoryMB = *w.OldMemoryMB
	}
	switch {
	case len(w.CPU) > 0 && !bytes.Equal(w.CPU, []byte("null")):
		milli, err := decodeCPUJSON(w.CPU)
		if err != nil {
			return fmt.Errorf("function spec: cpu: %w", err)
		}
		spec.CPUMilli = milli
	case w.OldCPUMilli != nil:
		spec.CPUMilli = *w.OldCPUMilli
	}
	*s = spec
	return nil
}
