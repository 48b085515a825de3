package httpapi

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
)

// Authenticator checks API tokens (scheduler/auth.Service).
type Authenticator interface {
	// Authenticate returns the token whose whole text is token; auth.ErrUnauthenticated when it
	// is malformed, unknown, revoked or expired.
	Authenticate(ctx context.Context, token string) (api.Token, error)
}

// Tokens manages API tokens (scheduler/auth.Service).
type Tokens interface {
	Create(ctx context.Context, req api.TokenRequest) (api.NewToken, error)
	List(ctx context.Context) ([]api.Token, error)
	// Revoke deletes a token; store.ErrNotFound when unknown.
	Revoke(ctx context.Context, id string) error
}

// FunctionAccess says whether a function may be called without a token (scheduler/pool).
type FunctionAccess interface {
	// Public reports whether function is public, and whether it exists at all.
	Public(function string) (public, ok bool)
}

type tokenKey struct{}

// tokenOf returns the token a guarded handler runs for.
func tokenOf(r *http.Request) api.Token {
	t, _ := r.Context().Value(tokenKey{}).(api.Token)
	return t
}

// bearer returns the token of an "Authorization: Bearer ..." header, or "".
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// authenticate answers 401 (and returns ok false) unless the request carries a valid token.
func (h *handlers) authenticate(w http.ResponseWriter, r *http.Request) (api.Token, bool) {
	tok := bearer(r)
	if tok == "" {
		unauthorized(w, "this needs an API token: send it as \"Authorization: Bearer <token>\" (the CLI reads HEARTH_TOKEN, hearth login, or the server's admin-token file on the same machine)")
		return api.Token{}, false
	}
	t, err := h.Auth.Authenticate(r.Context(), tok)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		unauthorized(w, err.Error())
		return api.Token{}, false
	case err != nil:
		h.fail(w, r, err)
		return api.Token{}, false
	}
	return t, true
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="hearth"`)
	writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, msg, "")
}

// guard wraps a handler of a route: the request needs a token that may do act, about the
// function named by the route's {name} when it has one.
func (h *handlers) guard(act auth.Action, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := h.authenticate(w, r)
		if !ok {
			return
		}
		if err := auth.Allow(t, act, mux.Vars(r)["name"]); err != nil {
			writeError(w, http.StatusForbidden, api.CodeForbidden, err.Error(), "")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	}
}

// mayInvoke decides whether a call to function may go through: a public function takes anyone;
// a private one (or one that does not exist, so that its existence is not told to strangers)
// needs a token that may call it. It answers the refusal itself. The hearth token is taken off
// the request either way: the function's code must never see a caller's token, which it could
// use against the API.
func (h *handlers) mayInvoke(w http.ResponseWriter, r *http.Request, function string) bool {
	tok := bearer(r)
	if strings.HasPrefix(tok, "hth_") {
		r.Header.Del("Authorization")
	}
	if public, ok := h.Access.Public(function); ok && public {
		return true
	}
	if tok == "" {
		unauthorized(w, fmt.Sprintf("function %q is private: call it with a token that covers it (\"Authorization: Bearer <token>\", role invoker or above), or deploy it with public: true in func.yaml", function))
		return false
	}
	t, err := h.Auth.Authenticate(r.Context(), tok)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		unauthorized(w, err.Error())
		return false
	case err != nil:
		h.fail(w, r, err)
		return false
	}
	if err := auth.Allow(t, auth.ActInvoke, function); err != nil {
		writeError(w, http.StatusForbidden, api.CodeForbidden, err.Error(), "")
		return false
	}
	return true
}

// requireContentType answers 415 (and returns false) unless the request's Content-Type is one
// of want. A cross-site page can send a few content types without asking the server first
// (text/plain among them); requiring the proper type for every state-changing request makes
// such a request fail even before its token is looked at.
func requireContentType(w http.ResponseWriter, r *http.Request, want ...string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil {
		for _, t := range want {
			if strings.EqualFold(mt, t) {
				return true
			}
		}
	}
	writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia,
		fmt.Sprintf("Content-Type must be %s, not %q", strings.Join(want, " or "), r.Header.Get("Content-Type")), "")
	return false
}
