package api

import "time"

// Role is what a token may do. Each role's rights are listed in docs/operator/security.md.
type Role string

// The roles, from most to least powerful.
const (
	// RoleAdmin may do everything, manage tokens included.
	RoleAdmin Role = "admin"
	// RoleDeployer may deploy, configure, delete and call its functions, and read their
	// calls and logs.
	RoleDeployer Role = "deployer"
	// RoleInvoker may call its functions and read those calls' records and async results.
	RoleInvoker Role = "invoker"
	// RoleViewer may read: functions, versions, calls, logs, metrics.
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleDeployer, RoleInvoker, RoleViewer}

// Token is an API token as the API reports it: never its secret, which is shown once, when it
// is created.
type Token struct {
	// ID is the token's public identifier, also its second part ("hth_<id>_<secret>"), which
	// `hearth token revoke` takes.
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Role Role   `json:"role"`
	// Functions limits the token to these functions; empty means every function.
	Functions []string  `json:"functions,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitempty"`
	// LastUsedAt is when the token was last accepted (kept to within a few seconds); zero
	// when never.
	LastUsedAt time.Time `json:"last_used_at,omitempty"`
}

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	Role      Role     `json:"role"`
	Functions []string `json:"functions,omitempty"`
	// ExpiresIn is how long the token works, e.g. "720h" or "30d"; empty means it never
	// expires.
	ExpiresIn string `json:"expires_in,omitempty"`
	Name      string `json:"name,omitempty"`
}

// NewToken is the answer to POST /v1/tokens: the token's record and, this once, its secret.
type NewToken struct {
	Token
	// Secret is the whole token, to send as "Authorization: Bearer <secret>". The server keeps
	// only its hash: it cannot be shown again.
	Secret string `json:"token"`
}

// TokenList is the body of GET /v1/tokens.
type TokenList struct {
	Items []Token `json:"items"`
}
