package auth

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

func TestAllow(t *testing.T) {
	admin := api.Token{ID: "a", Role: api.RoleAdmin}
	deployer := api.Token{ID: "d", Role: api.RoleDeployer, Functions: []string{"hello"}}
	anyDeployer := api.Token{ID: "D", Role: api.RoleDeployer}
	invoker := api.Token{ID: "i", Role: api.RoleInvoker, Functions: []string{"hello", "greet"}}
	viewer := api.Token{ID: "v", Role: api.RoleViewer}
	scopedViewer := api.Token{ID: "w", Role: api.RoleViewer, Functions: []string{"greet"}}
	tests := []struct {
		tok     api.Token
		act     Action
		fn      string
		allowed bool
		says    string // part of the 403 message
	}{
		{admin, ActManageTokens, "", true, ""},
		{admin, ActDeploy, "anything", true, ""},
		{anyDeployer, ActManageTokens, "", false, "needs the role admin"},
		{deployer, ActDeploy, "hello", true, ""},
		{deployer, ActDeploy, "other", false, `covers the functions hello, not "other"`},
		{deployer, ActInvoke, "hello", true, ""},
		{deployer, ActReadLogs, "hello", true, ""},
		{deployer, ActRead, "", true, ""},
		{deployer, ActMetrics, "", false, "without a function scope"},
		{anyDeployer, ActMetrics, "", true, ""},
		{invoker, ActInvoke, "greet", true, ""},
		{invoker, ActInvoke, "other", false, "covers the functions hello, greet"},
		{invoker, ActReadCalls, "hello", true, ""},
		{invoker, ActReadLogs, "hello", false, "needs the role admin, deployer or viewer"},
		{invoker, ActRead, "", false, "has the role invoker"},
		{invoker, ActDeploy, "hello", false, "needs the role admin or deployer"},
		{viewer, ActRead, "x", true, ""},
		{viewer, ActReadLogs, "x", true, ""},
		{viewer, ActMetrics, "", true, ""},
		{viewer, ActInvoke, "x", false, "needs the role admin, deployer or invoker"},
		{viewer, ActDeploy, "x", false, ""},
		{scopedViewer, ActReadCalls, "hello", false, "not \"hello\""},
		{viewer, ActSelf, "", true, ""},
		{invoker, ActSelf, "", true, ""},
	}
	for _, tt := range tests {
		err := Allow(tt.tok, tt.act, tt.fn)
		if tt.allowed != (err == nil) {
			t.Errorf("%s %v on %q: allowed %v, want %v (%v)", tt.tok.Role, tt.act, tt.fn, err == nil, tt.allowed, err)
			continue
		}
		if err != nil && (!errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), tt.says)) {
			t.Errorf("%s %v on %q: error %q, want ErrForbidden saying %q", tt.tok.Role, tt.act, tt.fn, err, tt.says)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, " 90m ": 90 * time.Minute} {
		if got, err := ParseExpiry(in); err != nil || got != want {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0d", "-1d", "d", "10s", "soon", "1y", "-5h"} {
		if _, err := ParseExpiry(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseExpiry(%q): %v, want ErrInvalid", in, err)
		}
	}
}

func TestTokensAreRandomAndShaped(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, id, hash, err := newSecret()
		if err != nil {
			t.Fatal(err)
		}
		gid, secret, ok := splitToken(tok)
		if !ok || gid != id || hashSecret(secret) != hash || seen[tok] {
			t.Fatalf("token %q: split %q %q %v, id %q", tok, gid, secret, ok, id)
		}
		seen[tok] = true
	}
	for _, bad := range []string{"", "hth_", "hth_zz_yy", "Bearer hth_x", "hth_0123456789abcdef_short",
		"hth_0123456789abcdeg_" + strings.Repeat("a", 43), "xyz_0123456789abcdef_" + strings.Repeat("a", 43)} {
		if _, _, ok := splitToken(bad); ok {
			t.Errorf("splitToken(%q) accepted it", bad)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	st := newMemStore()
	s := NewService(st, Config{Now: clock.Now, CacheFor: time.Minute}, slog.New(slog.DiscardHandler))

	nt, err := s.Create(ctx, api.TokenRequest{Role: api.RoleInvoker, Functions: []string{"bb", "aa", "bb"}, ExpiresIn: "1d", Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(st.recs[nt.ID].Hash, nt.Secret) || st.recs[nt.ID].Hash == "" {
		t.Fatal("the store must hold a hash, not the secret")
	}
	got, err := s.Authenticate(ctx, nt.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != nt.ID || got.Role != api.RoleInvoker || strings.Join(got.Functions, ",") != "aa,bb" {
		t.Fatalf("authenticated as %+v", got)
	}

	id, secret, _ := splitToken(nt.Secret)
	wrong := tokenPrefix + id + "_" + strings.Repeat("A", len(secret))
	for name, tok := range map[string]string{"malformed": "letmein", "wrong secret": wrong,
		"unknown id": tokenPrefix + "0000000000000000_" + secret} {
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: %v, want ErrUnauthenticated", name, err)
		}
	}

	clock.advance(25 * time.Hour)
	if _, err := s.Authenticate(ctx, nt.Secret); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestRevokeTakesEffect(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	st := newMemStore()
	log := slog.New(slog.DiscardHandler)
	here := NewService(st, Config{Now: clock.Now, CacheFor: 10 * time.Second}, log)
	other := NewService(st, Config{Now: clock.Now, CacheFor: 10 * time.Second}, log) // another server, same store
	nt, err := here.Create(ctx, api.TokenRequest{Role: api.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{here, other} {
		if _, err := s.Authenticate(ctx, nt.Secret); err != nil {
			t.Fatal(err)
		}
	}
	if err := here.Revoke(ctx, nt.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := here.Authenticate(ctx, nt.Secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked here, still accepted here: %v", err)
	}
	clock.advance(11 * time.Second)
	if _, err := other.Authenticate(ctx, nt.Secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked elsewhere, still accepted after the cache time: %v", err)
	}
	if err := here.Revoke(ctx, nt.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke twice: %v, want ErrNotFound", err)
	}
}

func TestCreateRefuses(t *testing.T) {
	s := NewService(newMemStore(), Config{}, slog.New(slog.DiscardHandler))
	for name, req := range map[string]api.TokenRequest{
		"role":          {Role: "root"},
		"function name": {Role: api.RoleInvoker, Functions: []string{"Bad_Name"}},
		"scoped admin":  {Role: api.RoleAdmin, Functions: []string{"hello"}},
		"expiry":        {Role: api.RoleViewer, ExpiresIn: "forever"},
		"name":          {Role: api.RoleViewer, Name: "two\nlines"},
	} {
		if _, err := s.Create(context.Background(), req); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestLastUseIsStored(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	st := newMemStore()
	s := NewService(st, Config{Now: clock.Now}, slog.New(slog.DiscardHandler))
	nt, _ := s.Create(ctx, api.TokenRequest{Role: api.RoleViewer})
	clock.advance(time.Minute)
	if _, err := s.Authenticate(ctx, nt.Secret); err != nil {
		t.Fatal(err)
	}
	list, _ := s.List(ctx)
	if len(list) != 1 || !list[0].LastUsedAt.Equal(clock.Now()) {
		t.Fatalf("list before the flush: %+v", list)
	}
	s.flush(ctx)
	if got := st.recs[nt.ID].LastUsedAt; !got.Equal(clock.Now()) {
		t.Fatalf("stored last use %v, want %v", got, clock.Now())
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := newMemStore()
	s := NewService(st, Config{}, slog.New(slog.DiscardHandler))
	path, err := s.Bootstrap(ctx, dir)
	if err != nil || path != filepath.Join(dir, AdminTokenFile) {
		t.Fatalf("bootstrap: %q, %v", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v, mode %v; want 0600", err, fi.Mode())
	}
	b, _ := os.ReadFile(path)
	tok, err := s.Authenticate(ctx, strings.TrimSpace(string(b)))
	if err != nil || tok.Role != api.RoleAdmin {
		t.Fatalf("the written token: %+v, %v", tok, err)
	}
	if again, err := s.Bootstrap(ctx, dir); err != nil || again != "" || len(st.recs) != 1 {
		t.Fatalf("second start made another token: %q, %v, %d tokens", again, err, len(st.recs))
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// memStore is a store.TokenStore in memory.
type memStore struct {
	mu   sync.Mutex
	recs map[string]store.TokenRecord
}

func newMemStore() *memStore { return &memStore{recs: map[string]store.TokenRecord{}} }

func (m *memStore) CreateToken(_ context.Context, t store.TokenRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[t.ID]; ok {
		return errors.New("duplicate id")
	}
	m.recs[t.ID] = t
	return nil
}

func (m *memStore) GetToken(_ context.Context, id string) (store.TokenRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.recs[id]
	if !ok {
		return t, store.ErrNotFound
	}
	return t, nil
}

func (m *memStore) ListTokens(context.Context) ([]store.TokenRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.TokenRecord
	for _, t := range m.recs {
		out = append(out, t)
	}
	return out, nil
}

func (m *memStore) DeleteToken(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.recs, id)
	return nil
}

func (m *memStore) TouchTokens(_ context.Context, used map[string]time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, at := range used {
		if t, ok := m.recs[id]; ok && at.After(t.LastUsedAt) {
			t.LastUsedAt = at
			m.recs[id] = t
		}
	}
	return nil
}

// BenchmarkAuthenticate is what a call to a private function pays for its token once the token
// is cached: the split, a map lookup, a SHA-256 and a constant-time compare.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	s := NewService(newMemStore(), Config{CacheFor: time.Hour}, slog.New(slog.DiscardHandler))
	nt, err := s.Create(ctx, api.TokenRequest{Role: api.RoleInvoker, Functions: []string{"hello"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Authenticate(ctx, nt.Secret); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
