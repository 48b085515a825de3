package store

import (
	"context"
	"time"
)

// SecretRecord is one secret of a function as stored: its value sealed by scheduler/secrets
// (AES-256-GCM, with the function and key as additional data). The store never sees a value.
type SecretRecord struct {
	Function string
	Key      string
	// Sealed is the encrypted value with its nonce, as scheduler/secrets made it.
	Sealed    []byte
	UpdatedAt time.Time
}

// SecretStore keeps functions' secrets. Secrets belong to a function: deleting the function
// deletes them.
type SecretStore interface {
	// PutSecret stores a secret, replacing one with the same function and key. ErrNotFound
	// when the function does not exist.
	PutSecret(ctx context.Context, r SecretRecord) error

	// ListSecrets returns a function's secrets sorted by key; none (an empty slice) for a
	// function with none or that does not exist.
	ListSecrets(ctx context.Context, function string) ([]SecretRecord, error)

	// DeleteSecret removes one secret. ErrNotFound when there is no such secret.
	DeleteSecret(ctx context.Context, function, key string) error
}
