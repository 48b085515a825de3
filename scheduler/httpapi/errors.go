package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/auth"
	"github.com/hearthfn/hearth/scheduler/store"
)

// classify is the one table from errors to HTTP statuses and API error codes. It returns the
// message to show, which for internal errors hides nothing the operator needs: the log has it.
func classify(err error) (status int, code, field, msg string) {
	var fe *funcfile.FieldError
	var te *auth.RequestError
	var tooBig *http.MaxBytesError
	var fieldErr interface{ InvalidField() string } // a collaborator's 400 naming its field
	var conflict interface{ Conflict() }            // a collaborator's 409
	switch {
	case errors.As(err, &fieldErr):
		return http.StatusBadRequest, api.CodeInvalid, fieldErr.InvalidField(), err.Error()
	case errors.As(err, &conflict):
		return http.StatusConflict, api.CodeConflict, "", err.Error()
	case errors.As(err, &fe):
		return http.StatusBadRequest, api.CodeInvalid, fe.Field, err.Error()
	case errors.As(err, &te):
		return http.StatusBadRequest, api.CodeInvalid, te.Field, err.Error()
	case errors.Is(err, funcfile.ErrInvalid), errors.Is(err, builder.ErrInvalidSource), errors.Is(err, buildctx.ErrInvalidArchive):
		return http.StatusBadRequest, api.CodeInvalid, "", err.Error()
	case errors.Is(err, ErrInvalidRequest):
		return http.StatusBadRequest, api.CodeInvalid, "", err.Error()
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, api.CodeConflict, "", err.Error()
	case errors.Is(err, builder.ErrUnknownRuntime):
		return http.StatusBadRequest, api.CodeInvalid, "runtime", err.Error()
	case errors.As(err, &tooBig), errors.Is(err, buildctx.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, api.CodeTooLarge, "", err.Error()
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, api.CodeNotFound, "", err.Error()
	case errors.Is(err, builder.ErrBuildFailed):
		return http.StatusUnprocessableEntity, api.CodeBuildFailed, "", err.Error()
	case errors.Is(err, builder.ErrUnavailable), errors.Is(err, driver.ErrUnavailable), errors.Is(err, store.ErrUnavailable),
		errors.Is(err, builder.ErrPushFailed): // the registry is the server's, like its engine
		return http.StatusServiceUnavailable, api.CodeUnavailable, "", err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, api.CodeTimeout, "", err.Error()
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer, and it is not the server's fault.
		return statusClientClosed, api.CodeCanceled, "", err.Error()
	}
	return http.StatusInternalServerError, api.CodeInternal, "", "internal error: " + err.Error()
}

// ErrInvalidRequest and ErrConflict let a collaborator say that a request cannot be done as
// asked (400) or not in the resource's present state (409); the message is shown as it is.
var (
	ErrInvalidRequest = errors.New("invalid request")
	ErrConflict       = errors.New("conflict")
)

// statusClientClosed is nginx's 499: the client closed the request before the answer.
const statusClientClosed = 499

// fail answers a request with err's status and error body, logging what is not the caller's
// fault.
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, field, msg := classify(err)
	if status >= 500 {
		h.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeError(w, status, code, msg, field)
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg, Field: field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func uploadTooLarge(limit int64) string {
	return fmt.Sprintf("the upload is larger than the limit of %d MiB: list big files that are not needed at run time in .hearthignore", limit>>20)
}
