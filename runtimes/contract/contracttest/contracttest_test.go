package contracttest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/runtimes/contract/contracttest"
)

// contractFunction is a contract function written against net/http, as a shim would run it.
func contractFunction(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case contract.ReadyPath:
	case "/echo":
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Echo-") {
				w.Header()[k] = v
			}
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		status := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(status)
		w.Write(body)
	case "/fail":
		w.Header().Set(contract.HeaderFailed, "true")
		contract.WriteError(w, http.StatusInternalServerError, contract.CodeHandlerError, "contract failure")
	case "/sleep":
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		io.WriteString(w, "slept")
	case "/info":
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "call_id": r.Header.Get(contract.HeaderCallID),
			"deadline": r.Header.Get(contract.HeaderDeadline), "env": os.Getenv("CONTRACT_ENV"),
		})
	default:
		http.NotFound(w, r)
	}
}

// platform is the caller-visible part of hearth's front door: a call id and a deadline on the
// way in, the call id on the way out, and a 504 when the function's timeout passes.
func platform(timeout time.Duration, fn http.HandlerFunc) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/invoke/contract")
		id := fmt.Sprintf("call-%d", n.Add(1))
		deadline := time.Now().Add(timeout)
		r.Header.Set(contract.HeaderCallID, id)
		r.Header.Set(contract.HeaderDeadline, deadline.UTC().Format(time.RFC3339Nano))
		w.Header().Set(contract.HeaderCallID, id)
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		defer cancel()
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); fn(rec, r.WithContext(ctx)) }()
		select {
		case <-done:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				contract.WriteError(w, http.StatusGatewayTimeout, contract.CodeTimeout, "the call ran past the function's timeout")
			}
			return
		}
		for k, v := range rec.Header() {
			if k != contract.HeaderFailed {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func TestRunPassesAConformingFunction(t *testing.T) {
	t.Setenv("CONTRACT_ENV", contracttest.EnvValue)
	srv := httptest.NewServer(platform(time.Second, contractFunction))
	defer srv.Close()
	contracttest.Run(t, srv.URL+"/invoke/contract", contracttest.Options{Timeout: time.Second, Client: srv.Client()})
}
