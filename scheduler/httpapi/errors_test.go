package httpapi

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/store"
)

// classifyCase is one row of the error-to-status table. Every error is wrapped once more with
// %w, as the layers below the handlers do, so that the table proves errors.Is and errors.As
// see through the wrapping.
type classifyCase struct {
	name   string
	err    error
	status int
	code   string
	field  string
}

func classifyCases(t *testing.T) []classifyCase {
	wrap := func(err error) error { return fmt.Errorf("deploy hello: %w", err) }
	return []classifyCase{
		{"field error", wrap(&funcfile.FieldError{Field: "memory", Reason: "must be 16 to 16384"}),
			http.StatusBadRequest, api.CodeInvalid, "memory"},
		{"joined field errors name the first", wrap(errors.Join(
			&funcfile.FieldError{Field: "name", Reason: "is required"},
			&funcfile.FieldError{Field: "runtime", Reason: "is required"})),
			http.StatusBadRequest, api.CodeInvalid, "name"},
		{"funcfile.ErrInvalid", wrap(funcfile.ErrInvalid), http.StatusBadRequest, api.CodeInvalid, ""},
		{"func.yaml syntax error", wrap(&funcfile.SyntaxError{Line: 3, Msg: "did not find expected key"}),
			http.StatusBadRequest, api.CodeInvalid, ""},
		{"builder.ErrInvalidSource", wrap(fmt.Errorf("no go.mod: %w", builder.ErrInvalidSource)),
			http.StatusBadRequest, api.CodeInvalid, ""},
		{"buildctx.ErrInvalidArchive", wrap(fmt.Errorf("%w: not a gzip", buildctx.ErrInvalidArchive)),
			http.StatusBadRequest, api.CodeInvalid, ""},
		{"unsafe entry from Extract", wrap(unsafeArchiveError(t)), http.StatusBadRequest, api.CodeInvalid, ""},
		{"builder.ErrUnknownRuntime", wrap(fmt.Errorf("cobol: %w", builder.ErrUnknownRuntime)),
			http.StatusBadRequest, api.CodeInvalid, "runtime"},
		{"http.MaxBytesError", wrap(&http.MaxBytesError{Limit: 1 << 20}),
			http.StatusRequestEntityTooLarge, api.CodeTooLarge, ""},
		{"buildctx.ErrTooLarge", wrap(fmt.Errorf("%w: more than 10 bytes", buildctx.ErrTooLarge)),
			http.StatusRequestEntityTooLarge, api.CodeTooLarge, ""},
		{"store.ErrNotFound", wrap(fmt.Errorf("function %q: %w", "hello", store.ErrNotFound)),
			http.StatusNotFound, api.CodeNotFound, ""},
		{"builder.ErrBuildFailed", wrap(fmt.Errorf("%w: undefined: x", builder.ErrBuildFailed)),
			http.StatusUnprocessableEntity, api.CodeBuildFailed, ""},
		{"builder.ErrUnavailable", wrap(fmt.Errorf("docker: %w", builder.ErrUnavailable)),
			http.StatusServiceUnavailable, api.CodeUnavailable, ""},
		{"builder.ErrPushFailed", wrap(fmt.Errorf("push reg.local/hearth/x:1: %w: connection refused", builder.ErrPushFailed)),
			http.StatusServiceUnavailable, api.CodeUnavailable, ""},
		{"driver.ErrUnavailable", wrap(fmt.Errorf("docker: %w", driver.ErrUnavailable)),
			http.StatusServiceUnavailable, api.CodeUnavailable, ""},
		{"store.ErrUnavailable", wrap(fmt.Errorf("record new version: %w", store.ErrUnavailable)),
			http.StatusServiceUnavailable, api.CodeUnavailable, ""},
		{"context.DeadlineExceeded", wrap(context.DeadlineExceeded),
			http.StatusGatewayTimeout, api.CodeTimeout, ""},
		{"anything else", wrap(errors.New("disk on fire")),
			http.StatusInternalServerError, api.CodeInternal, ""},
	}
}

// unsafeArchiveError is what buildctx.Extract really returns for an entry outside the folder:
// an error that matches ErrInvalidArchive through a multi-error Unwrap.
func unsafeArchiveError(t *testing.T) error {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "../evil", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	err := buildctx.Extract(&buf, t.TempDir(), buildctx.Limits{MaxBytes: 1 << 20, MaxEntries: 100})
	if !errors.Is(err, buildctx.ErrUnsafePath) {
		t.Fatalf("Extract of ../evil = %v, want ErrUnsafePath", err)
	}
	return err
}

func TestClassify(t *testing.T) {
	for _, tt := range classifyCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			status, code, field, msg := classify(tt.err)
			if status != tt.status || code != tt.code || field != tt.field {
				t.Errorf("classify(%v) = %d %q field %q, want %d %q field %q",
					tt.err, status, code, field, tt.status, tt.code, tt.field)
			}
			wantMsg := tt.err.Error()
			if tt.code == api.CodeInternal {
				wantMsg = "internal error: " + tt.err.Error()
			}
			if msg != wantMsg {
				t.Errorf("message = %q, want %q", msg, wantMsg)
			}
		})
	}
}

func TestFailWritesTheErrorBody(t *testing.T) {
	for _, tt := range classifyCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			h := &handlers{Deps: Deps{Log: slog.New(slog.NewTextHandler(t.Output(), nil))}}
			rec := httptest.NewRecorder()
			h.fail(rec, httptest.NewRequest(http.MethodGet, "/v1/functions/hello", nil), tt.err)

			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			wantRetry := ""
			if tt.status == http.StatusServiceUnavailable {
				wantRetry = "5"
			}
			if got := rec.Header().Get("Retry-After"); got != wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, wantRetry)
			}
			var body api.ErrorBody
			dec := json.NewDecoder(strings.NewReader(rec.Body.String()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				t.Fatalf("body %q is not an ErrorBody: %v", rec.Body.String(), err)
			}
			if body.Error.Code != tt.code || body.Error.Field != tt.field || !strings.Contains(body.Error.Message, tt.err.Error()) {
				t.Errorf("body = %+v, want code %q field %q and a message containing %q",
					body.Error, tt.code, tt.field, tt.err.Error())
			}
		})
	}
}
