package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/secrets"
	"github.com/hearthfn/hearth/scheduler/store"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

func newKey(t *testing.T, fill byte) secrets.Key {
	t.Helper()
	k, err := secrets.NewKey(bytes.Repeat([]byte{fill}, secrets.KeySize), "test key")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealRoundTrip(t *testing.T) {
	k := newKey(t, 1)
	value := []byte("s3cr3t value\x00with a zero byte")
	a, err := k.Seal("hello", "API_KEY", value)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.Seal("hello", "API_KEY", value)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if bytes.Contains(a, value) {
		t.Fatal("the sealed value holds the plaintext")
	}
	got, err := k.Open("hello", "API_KEY", a)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("open: %q, %v", got, err)
	}
	empty, _ := k.Seal("hello", "EMPTY", nil)
	if got, err := k.Open("hello", "EMPTY", empty); err != nil || len(got) != 0 {
		t.Fatalf("empty value: %q, %v", got, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	k := newKey(t, 1)
	sealed, _ := k.Seal("hello", "API_KEY", []byte("v"))
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"wrong key":                     func() ([]byte, error) { return newKey(t, 2).Open("hello", "API_KEY", sealed) },
		"row moved to another function": func() ([]byte, error) { return k.Open("other", "API_KEY", sealed) },
		"row moved to another key":      func() ([]byte, error) { return k.Open("hello", "OTHER", sealed) },
		"altered":                       func() ([]byte, error) { return k.Open("hello", "API_KEY", tampered) },
		"truncated":                     func() ([]byte, error) { return k.Open("hello", "API_KEY", sealed[:5]) },
	} {
		if v, err := open(); !errors.Is(err, secrets.ErrDecrypt) || v != nil {
			t.Errorf("%s: got %q, %v; want ErrDecrypt", name, v, err)
		}
	}
}

func TestLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "secrets.key")
	k, err := secrets.LoadKey(path, "")
	if err != nil || !k.Created || k.Source != path {
		t.Fatalf("first load makes the key: %+v, %v", k, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v, %v", fi.Mode(), err)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Fatalf("key directory mode: %v", di.Mode())
	}
	sealed, _ := k.Seal("f", "K", []byte("v"))
	again, err := secrets.LoadKey(path, "")
	if err != nil || again.Created {
		t.Fatalf("second load reads the file: %+v, %v", again, err)
	}
	if v, err := again.Open("f", "K", sealed); err != nil || string(v) != "v" {
		t.Fatalf("the key read back opens what the new one sealed: %q, %v", v, err)
	}

	text, _ := os.ReadFile(path)
	fromEnv, err := secrets.LoadKey(filepath.Join(t.TempDir(), "unused"), string(text))
	if err != nil || fromEnv.Source != "$HEARTH_SECRETS_KEY" {
		t.Fatalf("env key: %+v, %v", fromEnv, err)
	}
	if v, err := fromEnv.Open("f", "K", sealed); err != nil || string(v) != "v" {
		t.Fatalf("the env's key is the same key: %q, %v", v, err)
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := secrets.LoadKey(path, bad); !errors.Is(err, secrets.ErrBadKey) || !strings.Contains(err.Error(), "HEARTH_SECRETS_KEY") {
			t.Errorf("env %q: want ErrBadKey naming the variable, got %v", bad, err)
		}
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.LoadKey(path, ""); !errors.Is(err, secrets.ErrBadKey) || !strings.Contains(err.Error(), path) {
		t.Errorf("bad file: want ErrBadKey naming the file, got %v", err)
	}
}

// restarts records RestartFunction calls.
type restarts struct {
	mu    sync.Mutex
	names []string
}

func (r *restarts) RestartFunction(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, name)
}

func openStore(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestService(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "hearth.db")
	st := openStore(t, dbPath)
	if _, err := st.AddVersion(ctx, "hello", api.Version{Image: "i", SourceHash: "h", Spec: api.FunctionSpec{Runtime: "go"}}); err != nil {
		t.Fatal(err)
	}
	r := &restarts{}
	svc := secrets.New(st, newKey(t, 7), r, nil)
	const plain = "plaintext-that-must-not-be-on-disk"
	if err := svc.Set(ctx, "hello", "API_KEY", []byte(plain)); err != nil {
		t.Fatal(err)
	}
	if err := svc.Set(ctx, "hello", "OTHER", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if len(r.names) != 2 || r.names[0] != "hello" {
		t.Fatalf("each change restarts the function: %v", r.names)
	}
	list, err := svc.List(ctx, "hello")
	if err != nil || len(list) != 2 || list[0].Key != "API_KEY" || list[0].UpdatedAt.IsZero() {
		t.Fatalf("list: %+v, %v", list, err)
	}
	vals, err := svc.Values(ctx, "hello")
	if err != nil || string(vals["API_KEY"]) != plain || string(vals["OTHER"]) != "x" {
		t.Fatalf("values: %v, %v", vals, err)
	}

	// Only ciphertext reaches the database file (and its write-ahead log).
	st.Close()
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(plain)) {
			t.Fatalf("%s holds the plaintext", filepath.Base(p))
		}
	}
	st = openStore(t, dbPath)
	svc = secrets.New(st, newKey(t, 7), r, nil)

	if err := svc.Set(ctx, "nope", "K", []byte("v")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("set for an unknown function: %v, want ErrNotFound", err)
	}
	if _, err := svc.List(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("list of an unknown function: %v, want ErrNotFound", err)
	}
	for _, key := range []string{"", "1ABC", "A-B", "A B", "PORT", strings.Repeat("A", 129)} {
		if err := svc.Set(ctx, "hello", key, []byte("v")); !errors.Is(err, secrets.ErrInvalidKey) {
			t.Errorf("key %q: %v, want ErrInvalidKey", key, err)
		}
	}
	if err := svc.Set(ctx, "hello", "BIG", make([]byte, api.MaxSecretBytes+1)); !errors.Is(err, secrets.ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if err := svc.Set(ctx, "hello", "MAX", make([]byte, api.MaxSecretBytes)); err != nil {
		t.Errorf("64 KiB exactly: %v", err)
	}
	// All of a function's values together are bounded too; replacing a value counts it once.
	for i := range 14 {
		if err := svc.Set(ctx, "hello", fmt.Sprintf("FILL_%d", i), make([]byte, api.MaxSecretBytes)); err != nil {
			t.Fatalf("fill %d: %v", i, err)
		}
	}
	if err := svc.Set(ctx, "hello", "MAX", make([]byte, api.MaxSecretBytes)); err != nil {
		t.Errorf("replacing a value at the limit: %v", err)
	}
	if err := svc.Set(ctx, "hello", "ONE_MORE", make([]byte, api.MaxSecretBytes)); !errors.Is(err, secrets.ErrTooLarge) {
		t.Errorf("past 1 MiB in all: %v", err)
	}
	for i := range 14 {
		_ = svc.Delete(ctx, "hello", fmt.Sprintf("FILL_%d", i))
	}

	if err := svc.Delete(ctx, "hello", "OTHER"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, "hello", "OTHER"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}

	// Another key opens nothing, and says which key it used; no value is in the message.
	wrong := secrets.New(st, newKey(t, 8), nil, nil)
	_, err = wrong.Values(ctx, "hello")
	if !errors.Is(err, secrets.ErrDecrypt) || !strings.Contains(err.Error(), "test key") || strings.Contains(err.Error(), plain) {
		t.Fatalf("wrong key: %v", err)
	}
	if v, err := svc.Values(ctx, "nobody"); err != nil || v != nil {
		t.Fatalf("a function without secrets: %v, %v", v, err)
	}
}

// TestMovedRowDoesNotOpen copies one function's sealed secret into another's row, as someone
// with write access to the database might: it must not open there.
func TestMovedRowDoesNotOpen(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "hearth.db"))
	for _, n := range []string{"victim", "attacker"} {
		if _, err := st.AddVersion(ctx, n, api.Version{Image: "i", SourceHash: "h", Spec: api.FunctionSpec{Runtime: "go"}}); err != nil {
			t.Fatal(err)
		}
	}
	svc := secrets.New(st, newKey(t, 3), nil, nil)
	if err := svc.Set(ctx, "victim", "DB_PASSWORD", []byte("hunter2")); err != nil {
		t.Fatal(err)
	}
	recs, err := st.ListSecrets(ctx, "victim")
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	moved := recs[0]
	moved.Function = "attacker"
	if err := st.PutSecret(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if v, err := svc.Values(ctx, "attacker"); !errors.Is(err, secrets.ErrDecrypt) || v != nil {
		t.Fatalf("moved row: %v, %v; want ErrDecrypt", v, err)
	}
}
