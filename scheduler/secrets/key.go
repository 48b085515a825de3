package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyEnv is the environment variable that, when set, holds the key (base64 of 32 bytes) and
// takes the place of the key file.
const KeyEnv = "HEARTH_SECRETS_KEY"

// KeySize is the key's length in bytes: AES-256.
const KeySize = 32

// ErrBadKey: the key given is not a base64 text of 32 bytes.
var ErrBadKey = errors.New("bad secrets key")

// Key is the key that seals and opens secrets, and where it came from (for messages: never
// the key itself).
type Key struct {
	aead cipher.AEAD
	// Source names where the key was read: the file's path or $HEARTH_SECRETS_KEY.
	Source string
	// Created is true when LoadKey made a new key file.
	Created bool
}

// NewKey makes a Key of raw, 32 bytes; source is what messages call it.
func NewKey(raw []byte, source string) (Key, error) {
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("%w: %s holds %d bytes, want %d (base64 of 32 random bytes, e.g. `head -c 32 /dev/urandom | base64`)",
			ErrBadKey, source, len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s: %v", ErrBadKey, source, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s: %v", ErrBadKey, source, err)
	}
	return Key{aead: aead, Source: source}, nil
}

// LoadKey returns the secrets key: from env's value when it is set (the contents of
// $HEARTH_SECRETS_KEY), else from the file at path, which is made (0600, in a 0700 directory)
// with a new random key when it does not exist. Both hold the key as base64 text.
func LoadKey(path, env string) (Key, error) {
	if env != "" {
		return parseKey(env, "$"+KeyEnv)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return Key{}, fmt.Errorf("read the secrets key: %w", err)
	}
	return parseKey(string(b), path)
}

func parseKey(text, source string) (Key, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s is not base64 (want base64 of 32 random bytes, e.g. `head -c 32 /dev/urandom | base64`)",
			ErrBadKey, source)
	}
	return NewKey(raw, source)
}

// createKey writes a new random key at path. O_EXCL: two servers starting on one data
// directory at once cannot each write a key and seal with different ones.
func createKey(path string) (Key, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, fmt.Errorf("create the secrets key's directory: %w", err)
	}
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return Key{}, fmt.Errorf("make a secrets key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey(path, "")
	}
	if err != nil {
		return Key{}, fmt.Errorf("create the secrets key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(path)
		return Key{}, fmt.Errorf("write the secrets key %s: %w", path, err)
	}
	k, err := NewKey(raw, path)
	k.Created = true
	return k, err
}
