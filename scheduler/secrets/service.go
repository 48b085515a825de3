package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// ErrInvalidKey: a secret's key is not a name an environment variable could have, or is one
// the platform sets itself. ErrTooLarge: a value is over api.MaxSecretBytes.
var (
	ErrInvalidKey = errors.New("invalid secret key")
	ErrTooLarge   = errors.New("secret too large")
)

// maxKeyLen bounds a key's length: long enough for any sensible variable name.
const maxKeyLen = 128

// keyRe is what a key looks like: an environment variable's name, so that every key works
// in env mode as in files mode (and a file name needs nothing escaped).
var keyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedKeys are variables the platform sets in every instance (runtimes/contract): a
// secret of that name would change how the instance is reached.
var reservedKeys = map[string]bool{"PORT": true}

// CheckKey says why key cannot name a secret, or nil.
func CheckKey(key string) error {
	switch {
	case !keyRe.MatchString(key) || len(key) > maxKeyLen:
		return fmt.Errorf("%w: %q: a key is a letter or _ followed by letters, digits or _ (like an environment variable), at most %d characters",
			ErrInvalidKey, key, maxKeyLen)
	case reservedKeys[key]:
		return fmt.Errorf("%w: %q is set by hearth in every instance; choose another key", ErrInvalidKey, key)
	}
	return nil
}

// Store is what the service keeps secrets in, and where it checks that a function exists.
type Store interface {
	store.SecretStore
	GetFunction(ctx context.Context, name string) (api.Function, error)
}

// Restarter replaces a function's instances so that the next ones start with the secrets as
// they are now (scheduler/pool.Pool.RestartFunction).
type Restarter interface {
	RestartFunction(name string)
}

// Service sets, lists and removes secrets, and opens them for instance starts. It is safe for
// concurrent use.
type Service struct {
	st      Store
	key     Key
	restart Restarter
	log     *slog.Logger
	now     func() time.Time
}

// New returns a service keeping secrets in st sealed with key; restart, when not nil, is told
// of every change (SetRestarter sets it later, for a pool made after the service).
func New(st Store, key Key, restart Restarter, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, key: key, restart: restart, log: log, now: time.Now}
}

// SetRestarter sets who replaces instances after a change. Call it before serving.
func (s *Service) SetRestarter(r Restarter) { s.restart = r }

// Set stores function's secret key with value, replacing the one there was, and restarts the
// function's instances. store.ErrNotFound when the function does not exist: a secret belongs
// to a deployed function and goes with it when it is deleted.
func (s *Service) Set(ctx context.Context, function, key string, value []byte) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if len(value) > api.MaxSecretBytes {
		return fmt.Errorf("%w: the value of %s is %d bytes; a secret may have at most %d (64 KiB)",
			ErrTooLarge, key, len(value), api.MaxSecretBytes)
	}
	if err := s.checkTotal(ctx, function, key, len(value)); err != nil {
		return err
	}
	sealed, err := s.key.Seal(function, key, value)
	if err != nil {
		return err
	}
	if err := s.st.PutSecret(ctx, store.SecretRecord{Function: function, Key: key, Sealed: sealed, UpdatedAt: s.now()}); err != nil {
		return err
	}
	s.changed(function, "secret set", key)
	return nil
}

// checkTotal refuses a value of n bytes for key when, with the function's other values, it
// would be over api.MaxSecretsBytes: they all travel in every instance start (the driver
// plugin's and the agents' start requests have bounds of their own).
func (s *Service) checkTotal(ctx context.Context, function, key string, n int) error {
	recs, err := s.st.ListSecrets(ctx, function)
	if err != nil {
		return err
	}
	total := n
	for _, r := range recs {
		if r.Key != key {
			total += max(len(r.Sealed)-s.key.overhead(), 0)
		}
	}
	if total > api.MaxSecretsBytes {
		return fmt.Errorf("%w: a function's secrets may hold 1 MiB in all; with %s they would hold %d bytes",
			ErrTooLarge, key, total)
	}
	return nil
}

// Delete removes function's secret key and restarts the function's instances. store.
// ErrNotFound when there is no such secret.
func (s *Service) Delete(ctx context.Context, function, key string) error {
	if err := s.st.DeleteSecret(ctx, function, key); err != nil {
		return err
	}
	s.changed(function, "secret removed", key)
	return nil
}

func (s *Service) changed(function, what, key string) {
	s.log.Info(what+"; the function's instances are replaced after their calls in flight", "function", function, "key", key)
	if s.restart != nil {
		s.restart.RestartFunction(function)
	}
}

// List returns the keys of function's secrets and when each was set, sorted by key: never a
// value. store.ErrNotFound when the function does not exist.
func (s *Service) List(ctx context.Context, function string) ([]api.Secret, error) {
	if _, err := s.st.GetFunction(ctx, function); err != nil {
		return nil, err
	}
	recs, err := s.st.ListSecrets(ctx, function)
	if err != nil {
		return nil, err
	}
	out := make([]api.Secret, 0, len(recs))
	for _, r := range recs {
		out = append(out, api.Secret{Key: r.Key, UpdatedAt: r.UpdatedAt})
	}
	return out, nil
}

// Values opens function's secrets for an instance start; nil when it has none. An error
// wraps ErrDecrypt when a value does not open with the key, and names the key's source.
func (s *Service) Values(ctx context.Context, function string) (instance.SecretValues, error) {
	recs, err := s.st.ListSecrets(ctx, function)
	if err != nil {
		return nil, fmt.Errorf("read the secrets of %s: %w", function, err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	out := make(instance.SecretValues, len(recs))
	for _, r := range recs {
		v, err := s.key.Open(function, r.Key, r.Sealed)
		if err != nil {
			return nil, fmt.Errorf("secret %s of function %s cannot be decrypted with the secrets key from %s (was the key replaced, or the store copied from a server with another key?): %w",
				r.Key, function, s.key.Source, err)
		}
		out[r.Key] = v
	}
	return out, nil
}
