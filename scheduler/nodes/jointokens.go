package nodes

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode"

	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
	"github.com/hearthfn/hearth/scheduler/store"
)

const (
	// DefaultJoinTokenTTL is how long a join token may be used when its request says nothing.
	DefaultJoinTokenTTL = 30 * time.Minute
	// MaxJoinTokenTTL bounds a join token's life: it is a credential for every node that
	// has it.
	MaxJoinTokenTTL = 24 * time.Hour
)

// ParseTTL reads a join token's lifetime, a Go duration such as "30m" or "2h": empty means
// DefaultJoinTokenTTL, and more than MaxJoinTokenTTL or less than a second is an error. Its
// errors are *auth.RequestError naming the field expires_in.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultJoinTokenTTL, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d > MaxJoinTokenTTL {
		return 0, &auth.RequestError{Field: "expires_in",
			Reason: fmt.Sprintf("%q: use a duration from 1s to %s, such as 30m (the default) or 2h", s, "24h")}
	}
	return d, nil
}

// checkLabels refuses labels that could not be written as --label k=v.
func checkLabels(labels map[string]string) error {
	for k, v := range labels {
		if k == "" || len(k) > 63 || strings.ContainsAny(k, "=,") || strings.IndexFunc(k, unicode.IsSpace) >= 0 {
			return &auth.RequestError{Field: "labels",
				Reason: fmt.Sprintf("%q: a label name is 1 to 63 characters without spaces, '=' or ','", k)}
		}
		if len(v) > 255 || strings.ContainsFunc(v, unicode.IsControl) {
			return &auth.RequestError{Field: "labels",
				Reason: fmt.Sprintf("the value of %q: at most 255 characters on one line", k)}
		}
	}
	return nil
}

// CreateJoinToken makes a join token as req asks and returns it with the token, which is shown
// this once: only the SHA-256 of its secret is stored. Errors: *auth.RequestError (expires_in,
// labels).
func (m *Manager) CreateJoinToken(ctx context.Context, req api.JoinTokenRequest) (api.NewJoinToken, error) {
	ttl, err := ParseTTL(req.ExpiresIn)
	if err != nil {
		return api.NewJoinToken{}, err
	}
	if err := checkLabels(req.Labels); err != nil {
		return api.NewJoinToken{}, err
	}
	tok, err := remote.NewJoinToken(rand.Reader, m.pki.Pin())
	if err != nil {
		return api.NewJoinToken{}, err
	}
	now := m.cfg.Now().UTC()
	rec := store.JoinTokenRecord{ID: tok.ID, SecretHash: hashSecret(tok.Secret), Labels: maps.Clone(req.Labels),
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if len(rec.Labels) == 0 {
		rec.Labels = nil
	}
	if err := m.store.CreateJoinToken(ctx, rec); err != nil {
		return api.NewJoinToken{}, err
	}
	m.log.Info("join token created", "join_token", rec.ID, "expires_at", rec.ExpiresAt, "labels", rec.Labels)
	return api.NewJoinToken{JoinToken: joinTokenView(rec), Token: tok.String()}, nil
}

// ListJoinTokens returns every join token, oldest first, revoked and expired ones too; never
// their secrets.
func (m *Manager) ListJoinTokens(ctx context.Context) ([]api.JoinToken, error) {
	recs, err := m.store.ListJoinTokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.JoinToken, 0, len(recs))
	for _, r := range recs {
		out = append(out, joinTokenView(r))
	}
	return out, nil
}

// RevokeJoinToken makes a join token unusable at once; nodes that joined with it stay.
// Errors: store.ErrNotFound.
func (m *Manager) RevokeJoinToken(ctx context.Context, id string) error {
	if err := m.store.RevokeJoinToken(ctx, id); err != nil {
		return err
	}
	m.log.Info("join token revoked", "join_token", id)
	return nil
}

func joinTokenView(r store.JoinTokenRecord) api.JoinToken {
	return api.JoinToken{ID: r.ID, Labels: r.Labels, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Revoked: r.Revoked}
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// checkJoinToken returns the stored record of token when it may be used to join now. Errors:
// ErrJoinTokenInvalid or ErrJoinTokenExpired with what is wrong, or the store's error.
func (m *Manager) checkJoinToken(ctx context.Context, token string) (store.JoinTokenRecord, error) {
	tok, err := remote.ParseJoinToken(token)
	if err != nil {
		return store.JoinTokenRecord{}, errorf(ErrJoinTokenInvalid, "%v", err)
	}
	if subtle.ConstantTimeCompare([]byte(tok.CAPin), []byte(m.pki.Pin())) != 1 {
		return store.JoinTokenRecord{}, errorf(ErrJoinTokenInvalid, "the token was made by another hearth server (its CA pin is not this server's); make one here with `hearth node token create`")
	}
	rec, err := m.store.GetJoinToken(ctx, tok.ID)
	unknown := errorf(ErrJoinTokenInvalid, "join token %s is unknown; make a new one with `hearth node token create`", tok.ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.JoinTokenRecord{}, unknown
	} else if err != nil {
		return store.JoinTokenRecord{}, err
	}
	// A wrong secret reads like an unknown id: it tells a guesser nothing.
	if subtle.ConstantTimeCompare([]byte(hashSecret(tok.Secret)), []byte(rec.SecretHash)) != 1 {
		return store.JoinTokenRecord{}, unknown
	}
	if rec.Revoked {
		return store.JoinTokenRecord{}, errorf(ErrJoinTokenInvalid, "join token %s was revoked; make a new one with `hearth node token create`", tok.ID)
	}
	if !m.cfg.Now().Before(rec.ExpiresAt) {
		return store.JoinTokenRecord{}, errorf(ErrJoinTokenExpired, "join token %s expired at %s; make a new one with `hearth node token create`",
			tok.ID, rec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return rec, nil
}

// Join admits a node: it checks req's token, assigns the node an id ("<sanitized name>-<8
// hex>"), signs its CSR and records it with the token's labels. The node then connects with
// the certificate. Errors: ErrJoinTokenInvalid, ErrJoinTokenExpired, ErrBadJoinRequest, or the
// store's error.
func (m *Manager) Join(ctx context.Context, req remote.JoinRequest) (remote.JoinResponse, error) {
	tok, err := m.checkJoinToken(ctx, req.Token)
	if err != nil {
		return remote.JoinResponse{}, err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 253 || strings.ContainsFunc(name, unicode.IsControl) {
		return remote.JoinResponse{}, errorf(ErrBadJoinRequest, "name must be 1 to 253 characters on one line (the agent's --name, its host name by default)")
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return remote.JoinResponse{}, err
	}
	id := sanitizeName(name) + "-" + hex.EncodeToString(rnd[:])
	cert, err := m.pki.SignNode([]byte(req.CSR), id)
	if err != nil {
		return remote.JoinResponse{}, err
	}
	now := m.cfg.Now().UTC()
	rec, err := m.store.UpsertNode(ctx, store.NodeRecord{ID: id, Name: name, Labels: tok.Labels,
		State: store.NodeReady, JoinedAt: now, LastSeen: now})
	if err != nil {
		return remote.JoinResponse{}, err
	}
	m.joined(rec)
	m.log.Info("node joined", "node", id, "name", name, "join_token", tok.ID, "labels", tok.Labels)
	return remote.JoinResponse{NodeID: id, Cert: string(cert), CA: string(m.pki.CACertPEM())}, nil
}

// maxNameInID bounds the name part of a node id, which also names containers and log lines.
const maxNameInID = 40

// sanitizeName makes a name fit a node id: lowercase letters, digits and single dashes; "node"
// when nothing is left.
func sanitizeName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= maxNameInID {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "node"
	}
	return s
}
