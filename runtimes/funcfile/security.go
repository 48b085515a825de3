package funcfile

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hearthfn/hearth/api"
)

// The fields of func.yaml that relax an instance's hardening (docs/operator/security.md says
// what each default stops). Every one of them is left out in a function that needs nothing
// special, which is what keeps a function safe unless it says otherwise.

// Bounds of the hardening fields, exported so that docs and the API can quote them.
const (
	// MinPids leaves room for the runtimes' own threads (a JVM starts a few dozen).
	MinPids = 16
	MaxPids = 32768
	// MinNoFile leaves room for the runtime's own descriptors (stdio, its listener, epoll).
	MinNoFile = 64
	// MaxNoFile is Linux's default fs.nr_open: no process may have a higher limit.
	MaxNoFile = 1 << 20
)

// AllowedCaps are the capabilities cap_add may give back: each lets a root process do one
// ordinary thing (bind a port below 1024, chown its files, signal its children) without the
// ones that reach past the container (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, ...).
var AllowedCaps = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"}

var (
	boolReason    = "must be true or false"
	userReason    = `must be "root", a numeric uid such as 1000, or uid:gid such as 1000:1000`
	tmpSizeReason = fmt.Sprintf("must be a whole number of megabytes from 1 to the function's memory, such as %d",
		api.DefaultTmpSizeMB)
	pidsReason    = fmt.Sprintf("must be a whole number from %d to %d", MinPids, MaxPids)
	noFileReason  = fmt.Sprintf("must be a whole number from %d to %d", MinNoFile, MaxNoFile)
	capAddReason  = fmt.Sprintf("must be a list of capability names out of %s", strings.Join(AllowedCaps, ", "))
	networkReason = fmt.Sprintf("must be %q (no outbound traffic) or left out (outbound traffic allowed)", api.NetworkNone)
)

func boolInto(dst *bool, key string, v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		return fieldErr(key, "%s", boolReason)
	}
	// yaml.v3 tags true, True and TRUE (and the false ones) as !!bool, never YAML 1.1's "yes".
	b, err := strconv.ParseBool(v.Value)
	if err != nil {
		return fieldErr(key, "%s", boolReason)
	}
	*dst = b
	return nil
}

// decodeUser reads "user": a YAML number (1000) is as good as the string "1000".
func decodeUser(d *decoded, key string, v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!bool" {
		return fieldErr(key, "%s", userReason)
	}
	d.spec.User = strings.TrimSpace(v.Value)
	if p := userProblem(d.spec.User); p != "" {
		return fieldErr(key, "%s", p)
	}
	return nil
}

// decodeCapAdd reads a list of capability names. They are stored as Docker and the kernel's
// headers name them without the prefix ("NET_BIND_SERVICE"); "cap_net_bind_service" is
// accepted too, since both spellings are common in other tools' files.
func decodeCapAdd(d *decoded, key string, v *yaml.Node) error {
	if v.Kind != yaml.SequenceNode {
		return fieldErr(key, "%s", capAddReason)
	}
	caps := make([]string, 0, len(v.Content))
	for i, item := range v.Content {
		item = resolve(item)
		field := fmt.Sprintf("%s[%d]", key, i)
		if item.Kind != yaml.ScalarNode {
			return fieldErr(field, "%s", capAddReason)
		}
		c := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(item.Value)), "CAP_")
		if p := capProblem(c, caps); p != "" {
			return fieldErr(field, "%s", p)
		}
		caps = append(caps, c)
	}
	if len(caps) > 0 {
		d.spec.CapAdd = caps
	}
	return nil
}

func decodeNetwork(d *decoded, key string, v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode || v.Value != api.NetworkNone {
		return fieldErr(key, "%s", networkReason)
	}
	d.spec.Network = v.Value
	return nil
}

// validateSecurity checks the hardening fields of a defaulted spec.
func validateSecurity(s api.FunctionSpec, add func(field, reason string)) {
	if p := userProblem(s.User); p != "" {
		add("user", p)
	}
	if s.TmpSizeMB < 1 || s.TmpSizeMB > s.MemoryMB {
		add("tmp_size", fmt.Sprintf("%s: /tmp is kept in memory and counts against it (memory is %d)", tmpSizeReason, s.MemoryMB))
	}
	if s.PidsLimit < MinPids || s.PidsLimit > MaxPids {
		add("pids", pidsReason)
	}
	if s.NoFile < MinNoFile || s.NoFile > MaxNoFile {
		add("nofile", noFileReason)
	}
	for i, c := range s.CapAdd {
		if p := capProblem(c, s.CapAdd[:i]); p != "" {
			add(fmt.Sprintf("cap_add[%d]", i), p)
		}
	}
	if len(s.CapAdd) > 0 && !isRoot(s.User) {
		// Docker gives added capabilities to uid 0 only, and no-new-privileges stops file
		// capabilities: without root, cap_add would silently do nothing.
		add("cap_add", `needs user: root: only a root process gets capabilities (it still gets none but these)`)
	}
	if s.Network != "" && s.Network != api.NetworkNone {
		add("network", networkReason)
	}
}

// isRoot reports whether a func.yaml user asks for uid 0: "root", "0" or "0:GID".
func isRoot(user string) bool {
	uid, _, _ := strings.Cut(user, ":")
	return uid == api.UserRoot || uid == "0"
}

// userProblem says what is wrong with a user, or "" for "", "root" and numeric uid[:gid].
// Names other than root are refused: resolving one needs the image's /etc/passwd, which a
// FROM scratch image does not have, and a name could hide uid 0.
func userProblem(user string) string {
	if user == "" || user == api.UserRoot {
		return ""
	}
	uid, gid, hasGID := strings.Cut(user, ":")
	if !isID(uid) || (hasGID && !isID(gid)) {
		return userReason
	}
	return ""
}

func isID(s string) bool {
	n, err := strconv.ParseUint(s, 10, 32)
	return err == nil && n < math.MaxInt32 && s == strconv.FormatUint(n, 10)
}

func capProblem(c string, before []string) string {
	switch {
	case !slices.Contains(AllowedCaps, c):
		return fmt.Sprintf("%q %s", c, capAddReason)
	case slices.Contains(before, c):
		return fmt.Sprintf("%q is listed twice", c)
	}
	return ""
}
