package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/privatefile"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Config tunes a Service. Zero fields take defaults.
type Config struct {
	// CacheFor is how long a token read from the store is trusted before it is read again
	// (default 10 s): what another server sharing the store revoked stops working within it.
	// A revocation through this Service takes effect at once.
	CacheFor time.Duration
	// FlushEvery is how often last-use times are written to the store (default 10 s).
	FlushEvery time.Duration
	// Now is the clock; tests inject their own.
	Now func() time.Time
}

// Service makes, checks and revokes API tokens. It is safe for concurrent use; Authenticate is
// on every request's path and costs a map lookup and a SHA-256 once the token is cached.
type Service struct {
	store store.TokenStore
	cfg   Config
	log   *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedToken // by id; guarded by mu
	used  map[string]time.Time   // last uses not yet stored; guarded by mu
}

type cachedToken struct {
	rec      store.TokenRecord
	loadedAt time.Time
}

// NewService returns a Service over st; Run must run for last-use times to be stored.
func NewService(st store.TokenStore, cfg Config, log *slog.Logger) *Service {
	if cfg.CacheFor <= 0 {
		cfg.CacheFor = 10 * time.Second
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: st, cfg: cfg, log: log, cache: map[string]cachedToken{}, used: map[string]time.Time{}}
}

// Authenticate returns the token whose whole text is token. Errors: ErrUnauthenticated (with
// why: malformed, unknown or revoked, expired), or the store's error when it cannot be read.
func (s *Service) Authenticate(ctx context.Context, token string) (api.Token, error) {
	id, secret, ok := splitToken(token)
	if !ok {
		return api.Token{}, fmt.Errorf("%w: that is not a hearth token (they look like hth_<id>_<secret>)", ErrUnauthenticated)
	}
	now := s.cfg.Now()
	rec, err := s.lookup(ctx, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return api.Token{}, fmt.Errorf("%w: token %s is unknown or revoked", ErrUnauthenticated, id)
	} else if err != nil {
		return api.Token{}, err
	}
	if !sameHash(hashSecret(secret), rec.Hash) {
		return api.Token{}, fmt.Errorf("%w: token %s is unknown or revoked", ErrUnauthenticated, id)
	}
	if !rec.ExpiresAt.IsZero() && !now.Before(rec.ExpiresAt) {
		return api.Token{}, fmt.Errorf("%w: token %s expired at %s; ask an admin for a new one (hearth token create)",
			ErrUnauthenticated, id, rec.ExpiresAt.Format(time.RFC3339))
	}
	s.mu.Lock()
	s.used[id] = now
	s.mu.Unlock()
	t := rec.Token
	t.LastUsedAt = now
	return t, nil
}

// lookup returns the token id from the cache, reading the store when it is not cached or was
// read more than CacheFor ago.
func (s *Service) lookup(ctx context.Context, id string, now time.Time) (store.TokenRecord, error) {
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok && now.Sub(c.loadedAt) < s.cfg.CacheFor {
		return c.rec, nil
	}
	rec, err := s.store.GetToken(ctx, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case errors.Is(err, store.ErrNotFound):
		delete(s.cache, id)
		return store.TokenRecord{}, err
	case err != nil && ok:
		// The store cannot be read just now: a token read before keeps working rather than
		// every request failing with it (revocations made here were applied to the cache).
		return c.rec, nil
	case err != nil:
		return store.TokenRecord{}, err
	}
	s.cache[id] = cachedToken{rec: rec, loadedAt: now}
	return rec, nil
}

// Create makes a token as req asks and returns it with its secret, which is not kept.
// Errors: ErrInvalid for a bad role, function name, expiry or name.
func (s *Service) Create(ctx context.Context, req api.TokenRequest) (api.NewToken, error) {
	if !ValidRole(req.Role) {
		return api.NewToken{}, invalid("role", "%q is not a role: use admin, deployer, invoker or viewer", req.Role)
	}
	for _, fn := range req.Functions {
		if err := funcfile.ValidateName(fn); err != nil {
			why := err.Error()
			var fe *funcfile.FieldError
			if errors.As(err, &fe) {
				why = fe.Reason
			}
			return api.NewToken{}, invalid("functions", "%q: %s", fn, why)
		}
	}
	if req.Role == api.RoleAdmin && len(req.Functions) > 0 {
		return api.NewToken{}, invalid("functions", "an admin token manages tokens, which no function scope can limit: use the role deployer for a token limited to functions")
	}
	if len(req.Name) > 200 || strings.ContainsAny(req.Name, "\n\r") {
		return api.NewToken{}, invalid("name", "at most 200 characters on one line")
	}
	life, err := ParseExpiry(req.ExpiresIn)
	if err != nil {
		return api.NewToken{}, err
	}
	secret, id, hash, err := newSecret()
	if err != nil {
		return api.NewToken{}, err
	}
	now := s.cfg.Now().UTC()
	fns := slices.Compact(slices.Sorted(slices.Values(req.Functions)))
	rec := store.TokenRecord{Token: api.Token{ID: id, Name: req.Name, Role: req.Role, Functions: fns, CreatedAt: now}, Hash: hash}
	if life > 0 {
		rec.ExpiresAt = now.Add(life)
	}
	if err := s.store.CreateToken(ctx, rec); err != nil {
		return api.NewToken{}, err
	}
	s.log.Info("token created", "token", id, "role", rec.Role, "functions", fns, "expires_at", rec.ExpiresAt)
	return api.NewToken{Token: rec.Token, Secret: secret}, nil
}

// List returns every token, oldest first, with last uses not yet stored.
func (s *Service) List(ctx context.Context) ([]api.Token, error) {
	recs, err := s.store.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]api.Token, 0, len(recs))
	for _, r := range recs {
		if at, ok := s.used[r.ID]; ok && at.After(r.LastUsedAt) {
			r.LastUsedAt = at
		}
		out = append(out, r.Token)
	}
	return out, nil
}

// Revoke deletes a token; it stops working at once on this server. Errors: store.ErrNotFound.
func (s *Service) Revoke(ctx context.Context, id string) error {
	if err := s.store.DeleteToken(ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.cache, id)
	delete(s.used, id)
	s.mu.Unlock()
	s.log.Info("token revoked", "token", id)
	return nil
}

// AdminTokenFile is the name, in the server's data directory, of the file holding the admin
// token the server made at its first start.
const AdminTokenFile = "admin-token"

// Bootstrap makes an admin token when the store has no token at all (a first start, or every
// token revoked) and writes it to dir/admin-token, readable by its owner only. It returns the
// file's path, or "" when tokens existed and nothing was made.
func (s *Service) Bootstrap(ctx context.Context, dir string) (string, error) {
	recs, err := s.store.ListTokens(ctx)
	if err != nil {
		return "", fmt.Errorf("read tokens: %w", err)
	}
	if len(recs) > 0 {
		return "", nil
	}
	t, err := s.Create(ctx, api.TokenRequest{Role: api.RoleAdmin, Name: "admin, made at first start"})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, AdminTokenFile)
	if err := privatefile.Write(path, []byte(t.Secret+"\n")); err != nil {
		// Without the file nobody could use the token: take it back.
		_ = s.store.DeleteToken(context.WithoutCancel(ctx), t.ID)
		return "", fmt.Errorf("write the admin token: %w", err)
	}
	return path, nil
}

// Run writes last-use times to the store every FlushEvery until ctx ends, then once more.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			s.flush(ctx)
		}
	}
}

func (s *Service) flush(ctx context.Context) {
	s.mu.Lock()
	if len(s.used) == 0 {
		s.mu.Unlock()
		return
	}
	batch := maps.Clone(s.used)
	clear(s.used)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.store.TouchTokens(ctx, batch); err != nil {
		s.log.Warn("could not record when tokens were last used; trying again later", "error", err)
		s.mu.Lock()
		for id, at := range batch {
			if cur, ok := s.used[id]; !ok || at.After(cur) {
				s.used[id] = at
			}
		}
		s.mu.Unlock()
	}
}
