package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/cli/output"
	"github.com/hearthfn/hearth/internal/suggest"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

func (a *app) configCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:   "config NAME [KEY=VALUE...]",
		Short: "Show or change a function's settings without rebuilding it",
		Long: `With only NAME, show the function's settings as it runs them (defaults filled in).

With KEY=VALUE arguments, change those settings: the server records a new version with the
same image and rolls it out. Warm instances are kept when only pool settings changed
(timeouts, concurrency, instances, queue) and replaced otherwise. env.KEY=VALUE sets an
environment variable, env.KEY= removes it; other variables are kept.

Keys: ` + strings.Join(settingKeys(), ", ") + `.
memory is in megabytes (256) and cpu is written as in func.yaml: millicores ("500m") or cores
("0.5", "2"); cpu=0 removes the CPU limit. Durations are like "30s" or "2m", or a number of
seconds. The old keys memory_mb and cpu_milli (millicores) still work, with a note.

A later "hearth deploy" applies func.yaml again and overrides these changes.`,
		Example: "  hearth config hello\n  hearth config hello memory=256 cpu=500m\n" +
			"  hearth config hello idle_timeout=10s max_instances=5 env.GREETING=hi\n  hearth config hello env.GREETING=",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("%s needs NAME", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runConfig(cmd.Context(), cmd, r, args[0], args[1:], format)
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.ValidArgsFunction = a.completeConfigArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) runConfig(ctx context.Context, cmd *cobra.Command, r remote, name string, assignments []string, format output.Format) error {
	// Bad arguments are reported before anything is sent.
	patch, notes, err := parseSettings(assignments)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(cmd.ErrOrStderr(), n)
	}
	c, err := a.client(r)
	if err != nil {
		return err
	}
	var fn api.Function
	if len(assignments) == 0 {
		fn, err = c.GetFunction(ctx, name)
	} else {
		fn, err = c.Configure(ctx, name, patch)
		var ce *client.Error
		if errors.Is(err, client.ErrInvalid) && errors.As(err, &ce) && ce.Detail.Field != "" {
			err = fmt.Errorf("the server rejected the new settings of %s: %w", name, err)
		}
	}
	if err != nil {
		return err
	}
	if len(assignments) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s is at version %d\n", fn.Name, fn.Version.Number)
	}
	out := cmd.OutOrStdout()
	if format == output.JSON {
		return output.WriteJSON(out, api.SettingsOf(fn.Version.Spec))
	}
	return writeSettings(out, fn.Version.Spec)
}

// writeSettings writes a spec's settings, defaults filled in, as a table keyed as
// "hearth config" takes them.
func writeSettings(w io.Writer, spec api.FunctionSpec) error {
	s := spec.WithDefaults()
	cpu := api.FormatCPU(s.CPUMilli)
	if s.CPUMilli == 0 {
		cpu = "0 (no limit)"
	}
	t := output.NewTable(w, "setting", "value")
	t.Row("memory", s.MemoryMB)
	t.Row("cpu", cpu)
	t.Row("timeout", s.Timeout)
	t.Row("idle_timeout", s.IdleTimeout)
	t.Row("pause_timeout", s.PauseTimeout)
	t.Row("concurrency", s.Concurrency)
	t.Row("min_instances", s.MinInstances)
	t.Row("max_instances", s.MaxInstances)
	t.Row("queue", s.Queue)
	t.Row("public", s.Public)
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		t.Row("env."+k, s.Env[k])
	}
	return t.Flush()
}

// setting parses one KEY=VALUE value into a patch; example is a good value, for messages.
// reason, when set, is func.yaml's own words for a good value ("must be ..."), used instead of
// the parser's, so that the CLI, the API and func.yaml say the same about the same setting.
type setting struct {
	set     func(p *api.ConfigPatch, v string) error
	example string
	reason  string
}

var settings = map[string]setting{
	"memory": {intSetting(func(p *api.ConfigPatch, n int64) { p.MemoryMB = &n }), "256", funcfile.MemoryReason},
	"cpu": {func(p *api.ConfigPatch, v string) error {
		n, err := api.ParseCPULimit(v)
		p.CPUMilli = &n
		return err
	}, "500m", funcfile.CPUReason + ", or 0 for no limit"},
	"timeout":       {durationSetting(func(p *api.ConfigPatch, d api.Duration) { p.Timeout = &d }), "30s", ""},
	"idle_timeout":  {durationSetting(func(p *api.ConfigPatch, d api.Duration) { p.IdleTimeout = &d }), "30s", ""},
	"pause_timeout": {durationSetting(func(p *api.ConfigPatch, d api.Duration) { p.PauseTimeout = &d }), "5m", ""},
	"concurrency":   {intSetting(func(p *api.ConfigPatch, n int) { p.Concurrency = &n }), "4", ""},
	"min_instances": {intSetting(func(p *api.ConfigPatch, n int) { p.MinInstances = &n }), "1", ""},
	"max_instances": {intSetting(func(p *api.ConfigPatch, n int) { p.MaxInstances = &n }), "5", ""},
	"queue":         {intSetting(func(p *api.ConfigPatch, n int) { p.Queue = &n }), "100", ""},
	"public":        {boolSetting(func(p *api.ConfigPatch, b bool) { p.Public = &b }), "true", ""},
}

// settingAliases are names people bring from func.yaml that are not keys here.
var settingAliases = map[string]string{"env": "env.KEY"}

// oldSettings read the deprecated keys (api.DeprecatedConfigKeys) as they always were read;
// each returns the assignment to write instead, for the deprecation note.
var oldSettings = map[string]func(p *api.ConfigPatch, v string) (instead string, err error){
	"memory_mb": func(p *api.ConfigPatch, v string) (string, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", fmt.Errorf("memory_mb: %q is not a whole number: use memory=256 (memory_mb is deprecated)", v)
		}
		p.MemoryMB = &n
		return "memory=" + v, nil
	},
	"cpu_milli": func(p *api.ConfigPatch, v string) (string, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", fmt.Errorf(`cpu_milli: %q is not a whole number of millicores: use cpu=500m (cpu_milli is deprecated)`, v)
		}
		p.CPUMilli = &n
		return "cpu=" + cmp.Or(api.FormatCPU(n), "0"), nil
	},
}

// settingKeys lists the keys config takes, in the order they are shown.
func settingKeys() []string {
	keys := slices.DeleteFunc(slices.Clone(api.ConfigKeys), func(k string) bool { return k == "env" })
	return append(keys, "env.KEY")
}

func intSetting[T int | int64](set func(*api.ConfigPatch, T)) func(*api.ConfigPatch, string) error {
	return func(p *api.ConfigPatch, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || int64(T(n)) != n {
			return fmt.Errorf("%q is not a whole number", v)
		}
		set(p, T(n))
		return nil
	}
}

func boolSetting(set func(*api.ConfigPatch, bool)) func(*api.ConfigPatch, string) error {
	return func(p *api.ConfigPatch, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		set(p, b)
		return nil
	}
}

func durationSetting(set func(*api.ConfigPatch, api.Duration)) func(*api.ConfigPatch, string) error {
	return func(p *api.ConfigPatch, v string) error {
		d, err := api.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration", v)
		}
		set(p, d)
		return nil
	}
}

// parseSettings turns KEY=VALUE arguments into a patch. Each error is one line naming the key
// and showing a value that would do. notes are lines for stderr: one per deprecated key used.
func parseSettings(args []string) (p api.ConfigPatch, notes []string, err error) {
	seen := map[string]string{} // setting -> the key it was given as
	for _, arg := range args {
		key, val, ok := strings.Cut(arg, "=")
		if !ok {
			return p, nil, fmt.Errorf("%q is not a setting: write KEY=VALUE, such as max_instances=5 or env.GREETING=hi", arg)
		}
		name := cmp.Or(api.DeprecatedConfigKeys[key], key)
		if as, twice := seen[name]; twice {
			if as != key {
				return p, nil, fmt.Errorf("%s is given twice (as %s and %s): give each setting once", name, as, key)
			}
			return p, nil, fmt.Errorf("%s is given twice: give each setting once", key)
		}
		seen[name] = key
		if name, isEnv := strings.CutPrefix(key, "env."); isEnv {
			if name == "" {
				return p, nil, errors.New("env. needs a variable name: write env.GREETING=hi to set one, env.GREETING= to remove it")
			}
			if p.Env == nil {
				p.Env = map[string]*string{}
			}
			p.Env[name] = nil
			if val != "" {
				p.Env[name] = &val
			}
			continue
		}
		if old, ok := oldSettings[key]; ok {
			if val == "" {
				return p, nil, fmt.Errorf("%s needs a value, such as %s=%s (%s is deprecated)", name, name, settings[name].example, key)
			}
			instead, err := old(&p, val)
			if err != nil {
				return p, nil, err
			}
			notes = append(notes, fmt.Sprintf("%s is deprecated: use %s", key, instead))
			continue
		}
		s, ok := settings[key]
		if !ok {
			hint := ""
			if alias, ok := settingAliases[key]; ok {
				hint = fmt.Sprintf(" (did you mean %s?)", alias)
			} else if near := suggest.Closest(key, settingKeys()); near != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", near)
			}
			return p, nil, fmt.Errorf("unknown setting %q%s: use one of %s", key, hint, strings.Join(settingKeys(), ", "))
		}
		if val == "" {
			return p, nil, fmt.Errorf("%s needs a value, such as %s=%s", key, key, s.example)
		}
		if err := s.set(&p, val); err != nil {
			if s.reason != "" {
				return p, nil, fmt.Errorf("%s: %q %s", key, val, s.reason)
			}
			return p, nil, fmt.Errorf("%s: %v: use a value such as %s=%s", key, err, key, s.example)
		}
	}
	return p, notes, nil
}
