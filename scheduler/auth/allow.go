package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hearthfn/hearth/api"
)

// Action is something a request does, as far as tokens are concerned.
type Action int

// The actions. Those marked "of a function" are checked against the token's function scope.
const (
	// ActSelf: read one's own token (GET /v1/tokens/self) and the server's info.
	ActSelf Action = iota
	// ActRead: read functions and their versions (of a function, or a list filtered to the
	// token's scope).
	ActRead
	// ActReadCalls: read call records and async results (of a function).
	ActReadCalls
	// ActReadLogs: read a function's output (of a function).
	ActReadLogs
	// ActInvoke: call a private function (of a function).
	ActInvoke
	// ActDeploy: deploy, configure or delete a function (of a function).
	ActDeploy
	// ActMetrics: scrape /metrics, which names every function: tokens without a function scope
	// only.
	ActMetrics
	// ActManageTokens: make, list and revoke tokens.
	ActManageTokens
	// ActReadNodes: list the cluster's nodes and what they hold.
	ActReadNodes
	// ActManageNodes: make join tokens; drain, undrain and remove nodes.
	ActManageNodes
)

var actionNames = map[Action]string{
	ActSelf: "read its own token", ActRead: "read functions", ActReadCalls: "read calls",
	ActReadLogs: "read logs", ActInvoke: "call functions", ActDeploy: "deploy, configure or delete functions",
	ActMetrics: "read metrics", ActManageTokens: "manage tokens", ActReadNodes: "read nodes",
	ActManageNodes: "manage nodes",
}

func (a Action) String() string { return actionNames[a] }

// rights is the one table of what each role may do.
var rights = map[api.Role][]Action{
	api.RoleAdmin: {ActSelf, ActRead, ActReadCalls, ActReadLogs, ActInvoke, ActDeploy, ActMetrics, ActManageTokens,
		ActReadNodes, ActManageNodes},
	api.RoleDeployer: {ActSelf, ActRead, ActReadCalls, ActReadLogs, ActInvoke, ActDeploy, ActMetrics, ActReadNodes},
	api.RoleInvoker:  {ActSelf, ActReadCalls, ActInvoke},
	api.RoleViewer:   {ActSelf, ActRead, ActReadCalls, ActReadLogs, ActMetrics, ActReadNodes},
}

// ValidRole reports whether r is one of the roles.
func ValidRole(r api.Role) bool { _, ok := rights[r]; return ok }

// Allow says whether token t may do a about function ("" when the action is about no one
// function, such as a list). It returns nil or an error wrapping ErrForbidden whose message
// names the role or scope that was missing, for the 403 body.
func Allow(t api.Token, a Action, function string) error {
	if !slices.Contains(rights[t.Role], a) {
		return fmt.Errorf("%w: to %s a token needs the role %s; this token (%s) has the role %s",
			ErrForbidden, a, rolesFor(a), t.ID, t.Role)
	}
	if len(t.Functions) == 0 {
		return nil
	}
	switch {
	case a == ActMetrics:
		return fmt.Errorf("%w: metrics name every function, so reading them needs a token without a function scope; this token (%s) covers only %s",
			ErrForbidden, t.ID, strings.Join(t.Functions, ", "))
	case a == ActReadNodes || a == ActManageNodes:
		return fmt.Errorf("%w: nodes run every function, so a token that may %s must have no function scope; this token (%s) covers only %s",
			ErrForbidden, a, t.ID, strings.Join(t.Functions, ", "))
	case function != "" && !Covers(t, function):
		return fmt.Errorf("%w: this token (%s) covers the functions %s, not %q",
			ErrForbidden, t.ID, strings.Join(t.Functions, ", "), function)
	}
	return nil
}

// Covers reports whether t's scope includes function.
func Covers(t api.Token, function string) bool {
	return len(t.Functions) == 0 || slices.Contains(t.Functions, function)
}

// rolesFor lists the roles that may do a, for messages: "admin or deployer".
func rolesFor(a Action) string {
	var names []string
	for _, r := range api.Roles {
		if slices.Contains(rights[r], a) {
			names = append(names, string(r))
		}
	}
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
