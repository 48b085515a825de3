package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/secrets"
	"github.com/hearthfn/hearth/scheduler/store"
)

// fakeSecrets keeps values in memory for function "hello" only, checking keys as the service
// does.
type fakeSecrets struct {
	mu   sync.Mutex
	vals map[string][]byte
}

func (f *fakeSecrets) Set(_ context.Context, function, key string, value []byte) error {
	if err := secrets.CheckKey(key); err != nil {
		return err
	}
	if len(value) > api.MaxSecretBytes {
		return fmt.Errorf("%w: too big", secrets.ErrTooLarge)
	}
	if function != "hello" {
		return notFound(function)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vals[key] = value
	return nil
}

func (f *fakeSecrets) List(_ context.Context, function string) ([]api.Secret, error) {
	if function != "hello" {
		return nil, notFound(function)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []api.Secret{}
	for k := range f.vals {
		out = append(out, api.Secret{Key: k, UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	return out, nil
}

func (f *fakeSecrets) Delete(_ context.Context, function, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.vals[key]; !ok || function != "hello" {
		return fmt.Errorf("secret %q: %w", key, store.ErrNotFound)
	}
	delete(f.vals, key)
	return nil
}

func withSecrets(s *fakeSecrets) func(*httpapi.Deps) {
	return func(d *httpapi.Deps) { d.Secrets = s }
}

func secretReq(t *testing.T, method, url, token, contentType string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestSecretsEndpoints(t *testing.T) {
	sec := &fakeSecrets{vals: map[string][]byte{}}
	reg := &fakeRegistry{get: func(name string) (api.Function, error) { return sampleFunction(name, 1), nil }}
	srv, _ := serveBare(t, reg, withSecrets(sec))
	base := srv.URL + "/v1/functions/hello/secrets"
	const octet = "application/octet-stream"
	value := []byte("s3cr3t\x00\n")

	resp := secretReq(t, http.MethodPut, base+"/API_KEY", helloDeployer, octet, value)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("put: %d", resp.StatusCode)
	}
	if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
		t.Fatalf("put answered a body: %q", b)
	}
	if !bytes.Equal(sec.vals["API_KEY"], value) {
		t.Fatalf("the value reached the service as %q", sec.vals["API_KEY"])
	}

	var list api.SecretList
	decodeJSON(t, secretReq(t, http.MethodGet, base, viewerToken, "", nil), http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].Key != "API_KEY" || list.Items[0].UpdatedAt.IsZero() {
		t.Fatalf("list: %+v", list)
	}
	var fn api.Function
	decodeJSON(t, secretReq(t, http.MethodGet, srv.URL+"/v1/functions/hello", viewerToken, "", nil), http.StatusOK, &fn)
	if len(fn.Secrets) != 1 || fn.Secrets[0] != "API_KEY" {
		t.Fatalf("GET function names its secrets: %+v", fn.Secrets)
	}

	for _, tc := range []struct {
		name, method, url, token, ct string
		body                         []byte
		status                       int
		code, field                  string
	}{
		{"bad key", http.MethodPut, base + "/1BAD", adminToken, octet, value, 400, api.CodeInvalid, "key"},
		{"reserved key", http.MethodPut, base + "/PORT", adminToken, octet, value, 400, api.CodeInvalid, "key"},
		{"too large", http.MethodPut, base + "/BIG", adminToken, octet, make([]byte, api.MaxSecretBytes+1), 413, api.CodeTooLarge, ""},
		{"unknown function", http.MethodPut, srv.URL + "/v1/functions/nope/secrets/K", adminToken, octet, value, 404, api.CodeNotFound, ""},
		{"list unknown function", http.MethodGet, srv.URL + "/v1/functions/nope/secrets", adminToken, "", nil, 404, api.CodeNotFound, ""},
		{"json body", http.MethodPut, base + "/K", adminToken, "application/json", []byte(`"v"`), 415, api.CodeUnsupportedMedia, ""},
		{"viewer may not set", http.MethodPut, base + "/K", viewerToken, octet, value, 403, api.CodeForbidden, ""},
		{"invoker may not list", http.MethodGet, base, helloInvoker, "", nil, 403, api.CodeForbidden, ""},
		{"another function's deployer", http.MethodDelete, srv.URL + "/v1/functions/other/secrets/K", helloDeployer, "", nil, 403, api.CodeForbidden, ""},
		{"delete unknown", http.MethodDelete, base + "/NOPE", adminToken, "", nil, 404, api.CodeNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := errorBody(t, secretReq(t, tc.method, tc.url, tc.token, tc.ct, tc.body), tc.status)
			if e.Code != tc.code || e.Field != tc.field || strings.Contains(e.Message, "s3cr3t") {
				t.Fatalf("error %+v, want code %s field %q and no value", e, tc.code, tc.field)
			}
		})
	}

	if resp := secretReq(t, http.MethodDelete, base+"/API_KEY", helloDeployer, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if len(sec.vals) != 0 {
		t.Fatalf("after delete: %v", sec.vals)
	}
}
