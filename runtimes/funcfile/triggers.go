package funcfile

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	// The server reads triggers' timezones from the binary itself, so that a machine without
	// /usr/share/zoneinfo (distroless, scratch) schedules them the same as any other.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/suggest"
)

// MinEvery is the shortest "@every" interval a cron trigger may have: hearth's extension to
// cron's minute resolution, there for tests and demos more than production.
const MinEvery = time.Second

// triggerNamePattern is what a trigger's name may be: it appears in the Hearth-Trigger header
// and in call records.
var triggerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// cronKeys are the keys a cron trigger takes; Fn's http triggers take name, type and source.
var (
	cronKeys = []string{"name", "type", "schedule", "timezone", "path", "body", "headers"}
	httpKeys = []string{"name", "type", "source"}
)

const triggersReason = "must be a list of triggers such as [{type: cron, schedule: \"*/5 * * * *\"}]"

// scheduleParser reads the standard 5 fields and the descriptors (@hourly, @every 30s...).
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ErrSchedule is wrapped by ParseSchedule's errors.
var ErrSchedule = errors.New("invalid schedule")

// ParseSchedule reads a trigger's schedule in its timezone ("" for UTC), as validation does: the
// one place that says what a schedule means, for func.yaml and the server's trigger scheduler
// alike. The error wraps ErrSchedule and says what is wrong in words fit for a FieldError.
func ParseSchedule(schedule, timezone string) (cron.Schedule, *time.Location, error) {
	loc, err := LoadTimezone(timezone)
	if err != nil {
		return nil, nil, err
	}
	s := strings.TrimSpace(schedule)
	switch {
	case s == "":
		return nil, nil, fmt.Errorf("%w: schedule is required, e.g. \"*/5 * * * *\" or \"@hourly\"", ErrSchedule)
	case strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ="):
		return nil, nil, fmt.Errorf("%w: set the zone with the trigger's timezone key, not in the schedule", ErrSchedule)
	}
	if every, ok := strings.CutPrefix(s, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(every))
		if err != nil || d < MinEvery || d%time.Second != 0 {
			return nil, nil, fmt.Errorf("%w: %q: @every takes a whole number of seconds, at least %s, such as \"@every 30s\" or \"@every 1h\"", ErrSchedule, s, MinEvery)
		}
		return cron.Every(d), loc, nil
	}
	sched, err := scheduleParser.Parse(s)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %q: %v (use 5 fields, minute hour day-of-month month day-of-week, such as \"*/5 * * * *\", or @hourly, @daily, @weekly, @monthly, @yearly, @every 30s)", ErrSchedule, s, err)
	}
	// robfig gives up after five years: a schedule such as "0 0 30 2 *" never comes.
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, nil, fmt.Errorf("%w: %q names no time that ever comes", ErrSchedule, s)
	}
	return sched, loc, nil
}

// LoadTimezone returns the zone a trigger's schedule is read in: UTC for "". The error wraps
// ErrSchedule.
func LoadTimezone(timezone string) (*time.Location, error) {
	if timezone == "" {
		return time.UTC, nil
	}
	// "Local" would be the server's own zone, which the function's author cannot see.
	l, err := time.LoadLocation(timezone)
	if err != nil || timezone == "Local" {
		return nil, fmt.Errorf("%w: timezone %q is not an IANA zone name such as \"Europe/Berlin\" or \"UTC\"", ErrSchedule, timezone)
	}
	return l, nil
}

// decodeTriggers reads `triggers`: cron triggers are kept, Fn's http triggers are checked for
// shape and dropped. Names left out become "cron-1", "cron-2"... by position among the cron
// triggers. What the values mean (schedule, timezone, path, unique names) is validateTriggers'.
func decodeTriggers(d *decoded, key string, v *yaml.Node) error {
	if v.Kind != yaml.SequenceNode {
		return fieldErr(key, triggersReason)
	}
	var errs []error
	var out []api.Trigger
	for i, item := range v.Content {
		item = resolve(item)
		field := fmt.Sprintf("%s[%d]", key, i)
		if item.Kind != yaml.MappingNode {
			errs = append(errs, fieldErr(field, "must be a mapping such as {type: cron, schedule: \"*/5 * * * *\"}"))
			continue
		}
		values := map[string]*yaml.Node{}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, val := item.Content[j].Value, resolve(item.Content[j+1])
			if _, dup := values[k]; dup {
				errs = append(errs, fieldErr(field+"."+k, "is set twice"))
				continue
			}
			values[k] = val
		}
		typ := ""
		if n := values["type"]; n != nil && n.Kind == yaml.ScalarNode {
			typ = n.Value
		}
		known := cronKeys
		switch typ {
		case api.TriggerCron:
		case api.TriggerHTTP:
			known = httpKeys
		case "":
			errs = append(errs, fieldErr(field+".type", "is required: cron (hearth runs the function on a schedule) or http (accepted for Fn, and ignored)"))
			continue
		default:
			msg := fmt.Sprintf("%q is not a trigger type: use cron (or http, accepted for Fn and ignored)", typ)
			if near := suggest.Closest(typ, []string{api.TriggerCron, api.TriggerHTTP}); near != "" {
				msg = fmt.Sprintf("%q is not a trigger type: did you mean %q? (cron, or http, accepted for Fn and ignored)", typ, near)
			}
			errs = append(errs, fieldErr(field+".type", "%s", msg))
			continue
		}
		var t api.Trigger
		ok := true
		for j := 0; j+1 < len(item.Content); j += 2 {
			k := item.Content[j].Value
			if err := decodeTriggerKey(&t, field, k, known, values[k]); err != nil {
				errs, ok = append(errs, err), false
			}
		}
		if typ == api.TriggerHTTP || !ok {
			continue
		}
		if t.Name == "" {
			t.Name = fmt.Sprintf("cron-%d", len(out)+1)
		}
		out = append(out, t)
	}
	d.spec.Triggers = out
	return errors.Join(errs...)
}

// decodeTriggerKey reads one key of a trigger at field (e.g. "triggers[0]").
func decodeTriggerKey(t *api.Trigger, field, k string, known []string, v *yaml.Node) error {
	f := field + "." + k
	if !contains(known, k) {
		takes := fmt.Sprintf("a %s trigger takes %s", typeOf(known), strings.Join(known, ", "))
		if near := suggest.Closest(k, known); near != "" {
			return fieldErr(f, "unknown key: did you mean %q? (%s)", near, takes)
		}
		return fieldErr(f, "unknown key (%s)", takes)
	}
	if k == "headers" {
		var m map[string]string
		if v.Kind != yaml.MappingNode {
			return fieldErr(f, "must be a mapping of Header-Name: value")
		}
		m = make(map[string]string, len(v.Content)/2)
		for j := 0; j+1 < len(v.Content); j += 2 {
			name, val := v.Content[j].Value, resolve(v.Content[j+1])
			if val.Kind != yaml.ScalarNode {
				return fieldErr(f+"."+name, "must be a string")
			}
			m[name] = val.Value
		}
		if len(m) > 0 {
			t.Headers = m
		}
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		return fieldErr(f, "must be a string")
	}
	switch k {
	case "name":
		t.Name = v.Value
	case "type":
		t.Type = v.Value
	case "schedule":
		t.Schedule = v.Value
	case "timezone":
		t.Timezone = v.Value
	case "path":
		t.Path = v.Value
	case "body":
		t.Body = v.Value
	}
	return nil
}

func typeOf(known []string) string {
	if contains(known, "schedule") {
		return api.TriggerCron
	}
	return api.TriggerHTTP
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// reservedTriggerHeaders are set by hearth on every trigger's call.
var reservedTriggerHeaders = []string{api.HeaderTrigger, api.HeaderTriggerTime, api.HeaderTriggerMissed,
	api.HeaderAsync, api.HeaderCallbackURL}

// validateTriggers checks what triggers mean, wherever the spec came from.
func validateTriggers(ts []api.Trigger, add func(field, reason string)) {
	seen := map[string]int{}
	for i, t := range ts {
		field := fmt.Sprintf("triggers[%d]", i)
		if t.Type != api.TriggerCron {
			add(field+".type", fmt.Sprintf("%q is not a trigger type: use cron", t.Type))
			continue
		}
		switch j, dup := seen[t.Name]; {
		case !triggerNamePattern.MatchString(t.Name):
			add(field+".name", fmt.Sprintf("%q must be 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or digit", t.Name))
		case dup:
			add(field+".name", fmt.Sprintf("%q is also the name of triggers[%d]; names must be unique", t.Name, j))
		default:
			seen[t.Name] = i
		}
		reason := func(err error) string { return strings.TrimPrefix(err.Error(), ErrSchedule.Error()+": ") }
		if _, err := LoadTimezone(t.Timezone); err != nil {
			add(field+".timezone", reason(err))
		} else if _, _, err := ParseSchedule(t.Schedule, t.Timezone); err != nil {
			add(field+".schedule", reason(err))
		}
		if t.Path != "" {
			if u, err := url.ParseRequestURI(t.Path); err != nil || !strings.HasPrefix(t.Path, "/") || u.Host != "" || u.Fragment != "" {
				add(field+".path", fmt.Sprintf("%q must be a path such as /tick, with a query if you like (/tick?source=cron)", t.Path))
			}
		}
		for name := range t.Headers {
			switch {
			case !validHeaderName(name):
				add(field+".headers."+name, "is not a header name")
			case containsFold(reservedTriggerHeaders, name):
				add(field+".headers."+name, "is set by hearth on every trigger's call")
			}
		}
	}
}

var headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func validHeaderName(s string) bool { return headerNamePattern.MatchString(s) }

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if http.CanonicalHeaderKey(x) == http.CanonicalHeaderKey(s) {
			return true
		}
	}
	return false
}
