package store

import (
	"context"
	"time"
)

// NodeState is the state of a node an admin chose, which persists across server restarts. The
// states a node passes through at run time (disconnected, down) are not stored: they are
// scheduler/nodes' view of its session.
type NodeState string

const (
	// NodeReady: new instances may be placed on the node.
	NodeReady NodeState = "ready"
	// NodeDraining: an admin drained the node; nothing new is placed there.
	NodeDraining NodeState = "draining"
)

// NodeRecord is a node that joined the cluster, as stored.
type NodeRecord struct {
	// ID is the node's id, assigned at join, and the CN of its client certificate.
	ID string
	// Name is the name the agent gave when it joined (its host name, usually).
	Name string
	// Labels are the labels of the join token the node joined with; the labels an agent
	// reports when it connects are not stored.
	Labels map[string]string
	// AdvertiseAddr is the address the agent said its instances are reached on; empty when
	// none.
	AdvertiseAddr string
	State         NodeState
	JoinedAt      time.Time
	// LastSeen is when the server last heard from the node (stored in batches: it lags).
	LastSeen time.Time
}

// NodeStore keeps the nodes that joined the cluster. A node removed by an admin is deleted, and
// its certificate stops working because its id is no longer here.
type NodeStore interface {
	// UpsertNode stores n. A new node is stored whole; for a node stored already, Name, Labels,
	// AdvertiseAddr and LastSeen (the later of the two) are updated while State and JoinedAt
	// are kept (they change only through SetNodeState, and at join). It returns the node as
	// it is now stored.
	UpsertNode(ctx context.Context, n NodeRecord) (NodeRecord, error)

	// GetNode returns one node. ErrNotFound when unknown (or removed).
	GetNode(ctx context.Context, id string) (NodeRecord, error)

	// ListNodes returns every node, sorted by id.
	ListNodes(ctx context.Context) ([]NodeRecord, error)

	// SetNodeState sets a node's state. ErrNotFound when unknown.
	SetNodeState(ctx context.Context, id string, state NodeState) error

	// TouchNodes records when nodes were last seen: for each id, the later of the stored time
	// and the given one is kept. Unknown ids are ignored (a node removed meanwhile). Callers
	// batch their updates: a heartbeat every few seconds per node need not be a write.
	TouchNodes(ctx context.Context, seen map[string]time.Time) error

	// DeleteNode removes a node. ErrNotFound when unknown.
	DeleteNode(ctx context.Context, id string) error
}

// JoinTokenRecord is a join token as stored. The token's secret is never stored, only its
// hash.
type JoinTokenRecord struct {
	// ID is the token's public id (16 hex digits), the part of the token that names it.
	ID string
	// SecretHash is the SHA-256 of the token's secret part, in hex (scheduler/nodes).
	SecretHash string
	// Labels are given to every node that joins with the token.
	Labels    map[string]string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Revoked is true once an admin revoked the token: it no longer lets nodes join. Nodes
	// that joined with it stay.
	Revoked bool
}

// JoinTokenStore keeps the tokens with which agents join the cluster.
type JoinTokenStore interface {
	// CreateJoinToken stores a new token. An id stored already is an error.
	CreateJoinToken(ctx context.Context, t JoinTokenRecord) error

	// GetJoinToken returns one token, revoked or not. ErrNotFound when unknown.
	GetJoinToken(ctx context.Context, id string) (JoinTokenRecord, error)

	// ListJoinTokens returns every token, revoked and expired ones too, oldest first.
	ListJoinTokens(ctx context.Context) ([]JoinTokenRecord, error)

	// RevokeJoinToken marks a token revoked; revoking it again is not an error. ErrNotFound
	// when unknown.
	RevokeJoinToken(ctx context.Context, id string) error
}
