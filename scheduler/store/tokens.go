package store

import (
	"context"
	"time"

	"github.com/hearthfn/hearth/api"
)

// TokenRecord is an API token as stored: its public record and the hash of its secret. The
// secret itself is never stored.
type TokenRecord struct {
	api.Token
	// Hash is the SHA-256 of the token's secret part, in hex (scheduler/auth).
	Hash string
}

// TokenStore keeps API tokens.
type TokenStore interface {
	// CreateToken stores a new token. An id stored already is an error.
	CreateToken(ctx context.Context, t TokenRecord) error

	// GetToken returns one token. ErrNotFound when unknown (or revoked).
	GetToken(ctx context.Context, id string) (TokenRecord, error)

	// ListTokens returns every token, oldest first.
	ListTokens(ctx context.Context) ([]TokenRecord, error)

	// DeleteToken removes (revokes) a token. ErrNotFound when unknown.
	DeleteToken(ctx context.Context, id string) error

	// TouchTokens records when tokens were last used: for each id, the later of the stored
	// time and the given one is kept. Unknown ids are ignored (a token revoked meanwhile).
	TouchTokens(ctx context.Context, used map[string]time.Time) error
}
