package secrets

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrDecrypt: a sealed value does not open with the key: it was sealed with another key, or
// for another function or key, or it was altered.
var ErrDecrypt = errors.New("secret cannot be decrypted")

// sealFormat is the first byte of every sealed value, so that another format (another
// cipher, a key id) can come later without guessing.
const sealFormat = 1

// additionalData binds a sealed value to its function and key: GCM authenticates it, so a
// value moved to another row does not open.
func additionalData(function, key string) []byte {
	return []byte("hearth secret\x00" + function + "\x00" + key)
}

// Seal encrypts value for function's secret key: format byte, random nonce, ciphertext and
// tag.
func (k Key) Seal(function, key string, value []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("make a nonce: %w", err)
	}
	out := make([]byte, 0, 1+len(nonce)+len(value)+k.aead.Overhead())
	out = append(out, sealFormat)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, value, additionalData(function, key)), nil
}

// Open decrypts what Seal made for function's secret key. Any mismatch is ErrDecrypt; the
// message never holds any part of the value.
func (k Key) Open(function, key string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != sealFormat {
		return nil, fmt.Errorf("%w: not a sealed value of this format", ErrDecrypt)
	}
	value, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], additionalData(function, key))
	if err != nil {
		return nil, ErrDecrypt
	}
	return value, nil
}

// overhead is how many bytes Seal adds to a value.
func (k Key) overhead() int { return 1 + k.aead.NonceSize() + k.aead.Overhead() }
