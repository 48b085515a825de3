package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/secrets"
)

// Secrets keeps functions' secrets (scheduler/secrets.Service). No method returns a value.
type Secrets interface {
	Set(ctx context.Context, function, key string, value []byte) error
	List(ctx context.Context, function string) ([]api.Secret, error)
	Delete(ctx context.Context, function, key string) error
}

// putSecret answers PUT /v1/functions/{name}/secrets/{key}: the body, sent as
// application/octet-stream, is the value byte for byte. 204 on success: the answer carries
// nothing, the value least of all.
func (h *handlers) putSecret(w http.ResponseWriter, r *http.Request) {
	if !requireContentType(w, r, "application/octet-stream") {
		return
	}
	// One byte past the limit is read so that the service, not a cut body, says it is too big.
	value, err := io.ReadAll(io.LimitReader(r.Body, api.MaxSecretBytes+1))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := mux.Vars(r)
	h.secretDone(w, r, h.Secrets.Set(r.Context(), v["name"], v["key"], value))
}

// listSecrets answers GET /v1/functions/{name}/secrets with the keys and when each was set.
func (h *handlers) listSecrets(w http.ResponseWriter, r *http.Request) {
	items, err := h.Secrets.List(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		h.secretDone(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.SecretList{Items: items})
}

// deleteSecret answers DELETE /v1/functions/{name}/secrets/{key}.
func (h *handlers) deleteSecret(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	h.secretDone(w, r, h.Secrets.Delete(r.Context(), v["name"], v["key"]))
}

// secretDone answers 204 for nil, else the error: a bad key is a 400 on the field "key", a
// value over the limit a 413, the rest as every endpoint answers them (an unknown function or
// secret 404).
func (h *handlers) secretDone(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, secrets.ErrInvalidKey):
		writeError(w, http.StatusBadRequest, api.CodeInvalid, err.Error(), "key")
	case errors.Is(err, secrets.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, err.Error(), "")
	default:
		h.fail(w, r, err)
	}
}

// secretKeys returns the keys of function's secrets for GET /v1/functions/{name}, nil when it
// has none or the server keeps no secrets.
func (h *handlers) secretKeys(ctx context.Context, function string) ([]string, error) {
	if h.Secrets == nil {
		return nil, nil
	}
	items, err := h.Secrets.List(ctx, function)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	keys := make([]string, len(items))
	for i, s := range items {
		keys[i] = s.Key
	}
	return keys, nil
}
