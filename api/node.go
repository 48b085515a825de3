package api

import "time"

// Node states as `hearth nodes` and GET /v1/nodes report them.
const (
	// NodeReady: the node takes new instances.
	NodeReady = "ready"
	// NodeDraining: an admin drained the node: no new instances go there, its idle ones were
	// stopped and its busy ones stop after their last call.
	NodeDraining = "draining"
	// NodeDisconnected: the node's agent is not connected, for less than the node timeout: its
	// instances keep serving, no new ones go there.
	NodeDisconnected = "disconnected"
	// NodeDown: the agent missed its heartbeats past the node timeout: its instances left the
	// pool, and containers still running there are stopped when it comes back.
	NodeDown = "down"
)

// Resources is an amount of memory and CPU.
type Resources struct {
	MemoryMB int64 `json:"memory_mb"`
	CPUMilli int64 `json:"cpu_milli"`
}

// Node is one node of the cluster: the server's own (`--dev`, `--driver nomad`) or a `hearth
// agent`.
type Node struct {
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	State  string            `json:"state"`
	Local  bool              `json:"local"` // the server's in-process node: cannot be removed
	Labels map[string]string `json:"labels,omitempty"`
	// Address is the address the agent advertises for its instances' endpoints.
	Address string `json:"address,omitempty"`
	// Driver is the engine's name and version, e.g. "docker 20.10.24".
	Driver   string    `json:"driver,omitempty"`
	CanPause bool      `json:"can_pause"`
	JoinedAt time.Time `json:"joined_at,omitempty"`
	LastSeen time.Time `json:"last_seen,omitempty"`
	// Capacity is what instances may reserve there in all (zero fields: unlimited), Reserved
	// what they reserve now.
	Capacity Resources `json:"capacity"`
	Reserved Resources `json:"reserved"`
	// Instances counts the node's instances by state ("ready", "busy", "paused", ...).
	Instances map[string]int `json:"instances"`
	// Images is how many images the node holds.
	Images int `json:"images"`
	// Problem says why the node is not usable, when it is not.
	Problem string `json:"problem,omitempty"`
}

// NodeList is the body of GET /v1/nodes.
type NodeList struct {
	Items []Node `json:"items"`
}

// JoinTokenRequest is the body of POST /v1/join-tokens.
type JoinTokenRequest struct {
	// ExpiresIn is how long the token may be used to join, e.g. "30m" (the default) up to
	// "24h".
	ExpiresIn string `json:"expires_in,omitempty"`
	// Labels are given to every node that joins with the token.
	Labels map[string]string `json:"labels,omitempty"`
}

// JoinToken is a join token as the API reports it: never its secret.
type JoinToken struct {
	ID        string            `json:"id"`
	Labels    map[string]string `json:"labels,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	Revoked   bool              `json:"revoked,omitempty"`
}

// NewJoinToken is the answer to POST /v1/join-tokens: the record and, this once, the token
// that `hearth agent --join-token` takes.
type NewJoinToken struct {
	JoinToken
	Token string `json:"token"`
}

// JoinTokenList is the body of GET /v1/join-tokens.
type JoinTokenList struct {
	Items []JoinToken `json:"items"`
}
