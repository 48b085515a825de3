package pool

import (
	"slices"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// securityOf is how an instance of a function with the (defaulted) spec s is confined: the
// hardening fields of func.yaml, passed to the driver as they are.
func securityOf(s api.FunctionSpec) instance.Security {
	return instance.Security{
		User:         s.User,
		WritableRoot: s.WritableRoot,
		TmpSizeMB:    s.TmpSizeMB,
		PidsLimit:    s.PidsLimit,
		NoFile:       s.NoFile,
		CapAdd:       slices.Clone(s.CapAdd),
		Network:      s.Network,
	}
}

// sameSecurity reports whether instances confined as a may serve calls for b: a change of any
// hardening field needs new containers, as a change of memory does.
func sameSecurity(a, b instance.Security) bool {
	return a.User == b.User && a.WritableRoot == b.WritableRoot && a.TmpSizeMB == b.TmpSizeMB &&
		a.PidsLimit == b.PidsLimit && a.NoFile == b.NoFile && slices.Equal(a.CapAdd, b.CapAdd) &&
		a.Network == b.Network
}
