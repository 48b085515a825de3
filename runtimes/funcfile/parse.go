package funcfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/suggest"
)

// decoded is a func.yaml being read: the spec so far plus what only parsing can know.
type decoded struct {
	spec       api.FunctionSpec
	env        map[string]string
	config     map[string]string
	handlerKey string // "handler" or "entrypoint", whichever set the handler first
}

// fieldDecoder reads one key's value into d.
type fieldDecoder func(d *decoded, key string, v *yaml.Node) error

// fields are the keys hearth understands. They are looked up by name so that the set of known
// keys is in one place and can be listed in the "unknown field" message.
var fields = map[string]fieldDecoder{
	"name":    func(d *decoded, k string, v *yaml.Node) error { return scalarInto(&d.spec.Name, k, v) },
	"version": func(d *decoded, k string, v *yaml.Node) error { return scalarInto(&d.spec.Label, k, v) },
	"runtime": func(d *decoded, k string, v *yaml.Node) error { return scalarInto(&d.spec.Runtime, k, v) },
	"handler": decodeHandler,
	// Fn calls the handler "entrypoint".
	"entrypoint": decodeHandler,
	"memory": func(d *decoded, k string, v *yaml.Node) error {
		return positiveInt(&d.spec.MemoryMB, k, v, memoryReason)
	},
	"cpu": decodeCPU,
	"timeout": func(d *decoded, k string, v *yaml.Node) error {
		return positiveDuration(&d.spec.Timeout, k, v, timeoutReason)
	},
	"idle_timeout": func(d *decoded, k string, v *yaml.Node) error {
		return positiveDuration(&d.spec.IdleTimeout, k, v, idleTimeoutReason)
	},
	"pause_timeout": func(d *decoded, k string, v *yaml.Node) error {
		return positiveDuration(&d.spec.PauseTimeout, k, v, pauseTimeoutReason)
	},
	"queue": func(d *decoded, k string, v *yaml.Node) error {
		return positiveIntInto(&d.spec.Queue, k, v, queueReason)
	},
	"concurrency": func(d *decoded, k string, v *yaml.Node) error {
		return positiveIntInto(&d.spec.Concurrency, k, v, concurrencyReason)
	},
	"min_instances": func(d *decoded, k string, v *yaml.Node) error {
		n, err := integer(k, v, minInstancesReason)
		d.spec.MinInstances = int(n)
		return err
	},
	"max_instances": func(d *decoded, k string, v *yaml.Node) error {
		return positiveIntInto(&d.spec.MaxInstances, k, v, maxInstancesReason)
	},
	"env":    func(d *decoded, k string, v *yaml.Node) error { return stringMap(&d.env, k, v) },
	"config": func(d *decoded, k string, v *yaml.Node) error { return stringMap(&d.config, k, v) },
	"public": func(d *decoded, k string, v *yaml.Node) error { return boolInto(&d.spec.Public, k, v) },
	// The hardening fields (security.go).
	"user":          decodeUser,
	"writable_root": func(d *decoded, k string, v *yaml.Node) error { return boolInto(&d.spec.WritableRoot, k, v) },
	"tmp_size": func(d *decoded, k string, v *yaml.Node) error {
		return positiveInt(&d.spec.TmpSizeMB, k, v, tmpSizeReason)
	},
	"pids": func(d *decoded, k string, v *yaml.Node) error {
		return positiveIntInto(&d.spec.PidsLimit, k, v, pidsReason)
	},
	"nofile": func(d *decoded, k string, v *yaml.Node) error {
		return positiveIntInto(&d.spec.NoFile, k, v, noFileReason)
	},
	"cap_add": decodeCapAdd,
	"network": decodeNetwork,
	// Where instances may run (constraints.go).
	"constraints": decodeConstraints,
	// How instances get their secrets (secrets.go).
	"secrets": decodeSecrets,
	// Cron triggers; Fn's http triggers are accepted and dropped (triggers.go).
	"triggers": decodeTriggers,
}

// ignoredFields are Fn func.yaml keys that mean nothing to hearth but are harmless, so that an
// Fn function directory deploys unchanged.
var ignoredFields = map[string]bool{
	"schema_version": true,
	"format":         true,
	"build_image":    true,
	"run_image":      true,
}

// Parse reads func.yaml and validates it. Defaults are not applied to the result (see
// api.FunctionSpec.WithDefaults) but the spec is validated as it will be once defaulted. The
// error wraps ErrInvalid; it is a *FieldError, a *SyntaxError, or several FieldErrors joined
// (errors.As finds the first).
func Parse(data []byte) (api.FunctionSpec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return api.FunctionSpec{}, syntaxError(err)
	}
	var d decoded
	var errs []error
	if len(doc.Content) > 0 {
		root := resolve(doc.Content[0])
		if root.Kind != yaml.MappingNode {
			if root.Kind != yaml.ScalarNode || root.Tag != "!!null" {
				return api.FunctionSpec{}, &SyntaxError{Line: root.Line,
					Msg: "the file must be a mapping of field: value"}
			}
		} else {
			errs = decodeFields(&d, root)
		}
	}
	if err := mergeEnv(&d); err != nil {
		errs = append(errs, err)
	}
	// Env keys were checked as they were read, under their own key ("config.X" or "env.X").
	errs = append(errs, validate(d.spec.WithDefaults(), false)...)
	if len(errs) > 0 {
		return api.FunctionSpec{}, errors.Join(errs...)
	}
	return d.spec, nil
}

// Load reads and parses dir/func.yaml.
func Load(dir string) (api.FunctionSpec, error) {
	return LoadFS(os.DirFS(dir))
}

// LoadFS reads and parses func.yaml at the root of fsys. A missing file is an error wrapping
// fs.ErrNotExist.
func LoadFS(fsys fs.FS) (api.FunctionSpec, error) {
	data, err := fs.ReadFile(fsys, FileName)
	if err != nil {
		return api.FunctionSpec{}, fmt.Errorf("read %s: %w", FileName, err)
	}
	return Parse(data)
}

func decodeFields(d *decoded, root *yaml.Node) []error {
	var errs []error
	seen := make(map[string]int)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		key := k.Value
		if line, dup := seen[key]; dup {
			errs = append(errs, fieldErr(key, "is set twice (lines %d and %d)", line, k.Line))
			continue
		}
		seen[key] = k.Line
		decode, known := fields[key]
		switch {
		case ignoredFields[key]:
			continue
		case !known:
			if near := suggest.Closest(key, fieldNames()); near != "" {
				errs = append(errs, fieldErr(key, "unknown field: did you mean %q? (known fields: %s)", near, knownFields()))
			} else {
				errs = append(errs, fieldErr(key, "unknown field (known fields: %s)", knownFields()))
			}
			continue
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			// "timeout:" with no value is the same as leaving the key out.
			continue
		}
		if err := decode(d, key, v); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func knownFields() string {
	return strings.Join(fieldNames(), ", ")
}

// fieldNames lists the fields hearth reads, sorted.
func fieldNames() []string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// mergeEnv folds Fn's "config" into "env". A key in both is ambiguous, so it is an error
// rather than a silent preference for one of them.
func mergeEnv(d *decoded) error {
	if len(d.env) == 0 && len(d.config) == 0 {
		return nil
	}
	env := make(map[string]string, len(d.env)+len(d.config))
	for k, v := range d.env {
		env[k] = v
	}
	for k, v := range d.config {
		if _, dup := env[k]; dup {
			return fieldErr("config."+k, "is also set in env; set it in one place")
		}
		env[k] = v
	}
	d.spec.Env = env
	return nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 error ("yaml: line 3: did not find expected key") into a
// *SyntaxError with the line split out.
func syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &SyntaxError{Line: line, Msg: m[2]}
	}
	return &SyntaxError{Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// resolve follows a YAML alias (*anchor) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func scalarInto(dst *string, key string, v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode {
		return fieldErr(key, "must be a string")
	}
	*dst = v.Value
	return nil
}

func decodeHandler(d *decoded, key string, v *yaml.Node) error {
	if d.handlerKey != "" {
		return fieldErr(key, "%q is set too; use one of handler and entrypoint", d.handlerKey)
	}
	d.handlerKey = key
	return scalarInto(&d.spec.Handler, key, v)
}

// integer reads a whole number, written bare (256) or quoted ("256").
func integer(key string, v *yaml.Node, reason string) (int64, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!bool" {
		return 0, fieldErr(key, "%s", reason)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v.Value), 10, 64)
	if err != nil {
		return 0, fieldErr(key, "%s", reason)
	}
	return n, nil
}

// positiveInt reads a whole number where an explicit 0 is a mistake: zero means "the default"
// in a spec, so a written 0 would otherwise be quietly replaced.
func positiveInt(dst *int64, key string, v *yaml.Node, reason string) error {
	n, err := integer(key, v, reason)
	if err != nil {
		return err
	}
	if n == 0 {
		return fieldErr(key, "%s", reason)
	}
	*dst = n
	return nil
}

func positiveIntInto(dst *int, key string, v *yaml.Node, reason string) error {
	var n int64
	if err := positiveInt(&n, key, v, reason); err != nil {
		return err
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return fieldErr(key, "%s", reason)
	}
	*dst = int(n)
	return nil
}

// positiveDuration reads "30s" or a number of seconds (as Fn writes it).
func positiveDuration(dst *api.Duration, key string, v *yaml.Node, reason string) error {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!bool" {
		return fieldErr(key, "%s", reason)
	}
	d, err := api.ParseDuration(strings.TrimSpace(v.Value))
	if err != nil || d == 0 {
		return fieldErr(key, "%s", reason)
	}
	*dst = d
	return nil
}

// maxCPUMilli bounds cpu only to keep the arithmetic sane; nodes refuse what they cannot give.
const maxCPUMilli = api.MaxCPUMilli

// decodeCPU reads Kubernetes/Fn-style CPU amounts: "100m" (millicores) or "0.5" / 2 (cores).
func decodeCPU(d *decoded, key string, v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!bool" {
		return fieldErr(key, "%s", cpuReason)
	}
	milli, ok := parseCPU(strings.TrimSpace(v.Value))
	if !ok {
		return fieldErr(key, "%s", cpuReason)
	}
	d.spec.CPUMilli = milli
	return nil
}

// parseCPU is api.ParseCPU, so that func.yaml, hearth config and the API read cpu alike.
func parseCPU(s string) (int64, bool) {
	n, err := api.ParseCPU(s)
	return n, err == nil
}

// stringMap reads env or config: a mapping of names to scalars. Numbers and booleans are kept
// as written ("8080", "true"), since environment variables are strings.
func stringMap(dst *map[string]string, key string, v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return fieldErr(key, "must be a mapping of NAME: value")
	}
	m := make(map[string]string, len(v.Content)/2)
	var errs []error
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], resolve(v.Content[i+1])
		field := key + "." + k.Value
		if _, dup := m[k.Value]; dup {
			errs = append(errs, fieldErr(field, "is set twice"))
			continue
		}
		if err := envKeyProblem(k.Value); err != "" {
			errs = append(errs, fieldErr(field, "%s", err))
			continue
		}
		switch {
		case val.Kind == yaml.ScalarNode && val.Tag == "!!null":
			m[k.Value] = ""
		case val.Kind == yaml.ScalarNode:
			m[k.Value] = val.Value
		default:
			errs = append(errs, fieldErr(field, "must be a string, number or boolean"))
		}
	}
	*dst = m
	return errors.Join(errs...)
}
