package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// tokenPrefix starts every token, so that one pasted in the wrong place (a log, a repository)
// is recognisable and secret scanners can find it.
const tokenPrefix = "hth_"

const (
	idBytes     = 8
	secretBytes = 32
)

var (
	// ErrUnauthenticated: no token, or one that is malformed, unknown, revoked or expired.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the token is valid but its role or function scope does not allow the action.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: a token request is wrong (role, function name, expiry); a *RequestError
	// says which field.
	ErrInvalid = errors.New("invalid token request")
)

// RequestError is a wrong field of a token request. It is ErrInvalid for errors.Is.
type RequestError struct {
	// Field is the request's JSON key: role, functions, expires_in or name.
	Field  string
	Reason string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Reason }
func (e *RequestError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &RequestError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// newSecret returns a fresh token, its id and the hash of its secret.
func newSecret() (token, id, hash string, err error) {
	var idb [idBytes]byte
	var sec [secretBytes]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", "", err
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", "", "", err
	}
	id = hex.EncodeToString(idb[:])
	secret := base64.RawURLEncoding.EncodeToString(sec[:])
	return tokenPrefix + id + "_" + secret, id, hashSecret(secret), nil
}

// splitToken returns a token's id and secret, or ok false when it is not shaped like one.
func splitToken(token string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, tokenPrefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, "_")
	if !found || len(id) != 2*idBytes || len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return "", "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", false
	}
	return id, secret, true
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// sameHash compares two hashes in constant time.
func sameHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ParseExpiry reads a token lifetime: a Go duration ("720h", "90m") or a number of days
// ("30d"). Empty means no expiry (0).
func ParseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 36500 {
			return 0, invalid("expires_in", "%q: use a number of days such as 30d, or a duration such as 12h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, invalid("expires_in", "%q: use a number of days such as 30d, or a duration of at least 1m such as 12h", s)
	}
	return d, nil
}
