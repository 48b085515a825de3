package funcfile

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/hearthfn/hearth/api"
)

// Limits enforced by Validate. They are exported so that docs and the API can quote them.
const (
	MinMemoryMB     = 16
	MaxMemoryMB     = 16384
	MaxTimeout      = 15 * time.Minute
	MinIdleTimeout  = time.Second
	MaxConcurrency  = 1000
	MinPauseTimeout = time.Second
	MaxQueue        = 10000
)

// Reasons shared by parsing (which sees the written value) and validation (which sees the
// defaulted one), so that both say the same thing about the same field.
var (
	memoryReason       = fmt.Sprintf("must be a whole number of megabytes from %d to %d, such as 256", MinMemoryMB, MaxMemoryMB)
	cpuReason          = `must be a positive CPU amount such as "100m" (millicores) or "0.5" (cores)`
	timeoutReason      = `must be a positive duration such as "30s"`
	idleTimeoutReason  = fmt.Sprintf(`must be a duration of at least %s, such as "30s" or 30 (seconds)`, MinIdleTimeout)
	pauseTimeoutReason = fmt.Sprintf(`must be a duration of at least %s, such as "5m" or 300 (seconds)`, MinPauseTimeout)
	queueReason        = fmt.Sprintf("must be a whole number from 1 to %d", MaxQueue)
	concurrencyReason  = fmt.Sprintf("must be a whole number from 1 to %d", MaxConcurrency)
	minInstancesReason = "must be a whole number, 0 or more"
	maxInstancesReason = "must be a whole number, 1 or more"
)

// MemoryReason and CPUReason say what a good memory or cpu value is, in func.yaml's words:
// `hearth config` and PATCH .../config refuse a bad value with the same text.
var (
	MemoryReason = memoryReason
	CPUReason    = cpuReason
)

var (
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	envKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// reservedEnv are variables the platform sets in every instance; a function may not override
// them, or its shim would stop answering where the platform looks.
var reservedEnv = map[string]bool{"PORT": true}

// ValidateName reports whether name can be a function's name: 2 to 63 characters of lowercase
// letters, digits and '-', starting with a letter and not ending with '-'. Names become image
// repositories and host names, which is where these rules come from. The error is a
// *FieldError for "name".
func ValidateName(name string) error {
	if p := nameProblem(name); p != "" {
		return fieldErr("name", "%s", p)
	}
	return nil
}

func nameProblem(name string) string {
	switch {
	case name == "":
		return "is required"
	case len(name) < 2 || len(name) > 63:
		return fmt.Sprintf("%q must be 2 to 63 characters long", name)
	case !namePattern.MatchString(name) || name[len(name)-1] == '-':
		return fmt.Sprintf("%q must be lowercase letters, digits and '-', start with a letter and not end with '-'", name)
	}
	return ""
}

// Validate checks a spec, as it will be once defaults are applied (it calls WithDefaults
// itself, so a spec with zero fields is fine). The error wraps ErrInvalid and joins one
// *FieldError per problem, in field order; errors.As finds the first.
func Validate(s api.FunctionSpec) error {
	return errors.Join(validate(s.WithDefaults(), true)...)
}

func validate(s api.FunctionSpec, checkEnv bool) []error {
	var errs []error
	add := func(field, reason string) { errs = append(errs, fieldErr(field, "%s", reason)) }
	if p := nameProblem(s.Name); p != "" {
		add("name", p)
	}
	validateConstraints(s.Constraints, add)
	validateTriggers(s.Triggers, add)
	if s.Runtime == "" {
		add("runtime", `is required (for example "go")`)
	}
	if s.MemoryMB < MinMemoryMB || s.MemoryMB > MaxMemoryMB {
		add("memory", memoryReason)
	}
	if s.CPUMilli < 0 || s.CPUMilli > maxCPUMilli {
		add("cpu", cpuReason)
	}
	switch {
	case s.Timeout <= 0:
		add("timeout", timeoutReason)
	case s.Timeout.D() > MaxTimeout:
		add("timeout", fmt.Sprintf("must be at most %s", MaxTimeout))
	}
	if s.IdleTimeout.D() < MinIdleTimeout {
		add("idle_timeout", idleTimeoutReason)
	}
	if s.PauseTimeout.D() < MinPauseTimeout {
		add("pause_timeout", pauseTimeoutReason)
	}
	if s.Queue < 1 || s.Queue > MaxQueue {
		add("queue", queueReason)
	}
	if s.Concurrency < 1 || s.Concurrency > MaxConcurrency {
		add("concurrency", concurrencyReason)
	}
	if s.MinInstances < 0 {
		add("min_instances", minInstancesReason)
	}
	switch {
	case s.MaxInstances < 1:
		add("max_instances", maxInstancesReason)
	case s.MaxInstances < s.MinInstances:
		add("max_instances", fmt.Sprintf("must be at least min_instances (%d)", s.MinInstances))
	}
	validateSecurity(s, add)
	if checkEnv {
		keys := make([]string, 0, len(s.Env))
		for k := range s.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p := envKeyProblem(k); p != "" {
				add("env."+k, p)
			}
		}
	}
	return errs
}

func envKeyProblem(k string) string {
	switch {
	case !envKeyPattern.MatchString(k):
		return "is not a valid variable name: use letters, digits and '_', not starting with a digit"
	case reservedEnv[k]:
		return "is set by the platform and cannot be overridden"
	}
	return ""
}
