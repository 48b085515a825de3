package nomadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func TestCheckAgent(t *testing.T) {
	const healthy = `{"docker":{"Healthy":true,"HealthDescription":"Healthy"}}`
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string // "" for no error
	}{
		{"ready", 200, `[{"Name":"n1","Status":"ready","Drivers":` + healthy + `}]`, ""},
		{"one of two ready", 200, `[{"Name":"n1","Status":"down","Drivers":` + healthy + `},{"Name":"n2","Status":"ready","Drivers":` + healthy + `}]`, ""},
		{"no node", 200, `[]`, "has no client node"},
		{"node down", 200, `[{"Name":"n1","Status":"initializing","Drivers":` + healthy + `}]`, "node n1 is initializing"},
		{"no docker driver", 200, `[{"Name":"n1","Status":"ready","Drivers":{"raw_exec":{"Healthy":true}}}]`, "node n1 has no docker driver"},
		{"docker unhealthy", 200, `[{"Name":"n1","Status":"ready","Drivers":{"docker":{"Healthy":false,"HealthDescription":"Failed to connect to docker daemon"}}}]`, "docker driver unhealthy (Failed to connect to docker daemon)"},
		{"not JSON", 200, `<html>`, "reading its node list"},
		{"error status", 500, `no leader`, "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/nodes" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			err := checkAgent(context.Background(), srv.URL)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("checkAgent: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("checkAgent = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckRegistry(t *testing.T) {
	for _, tt := range []struct {
		status int
		ok     bool
	}{{200, true}, {401, false}, {404, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(tt.status)
		}))
		err := checkRegistry(context.Background(), srv.URL)
		srv.Close()
		if (err == nil) != tt.ok {
			t.Errorf("status %d: checkRegistry = %v, want ok %v", tt.status, err, tt.ok)
		}
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends its goroutine, as
// the real one does; the helpers under test run on a goroutine of their own.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalMessage runs f with a recorder and returns what it failed with, "" when it returned.
func fatalMessage(f func(testing.TB)) string {
	rec := &fatalRecorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	return rec.msg
}

// closedAddr returns a loopback host:port on which nothing listens any more.
func closedAddr() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := srv.Listener.Addr().String()
	srv.Close()
	return host
}

func TestMissingPartsFailNamingTheScript(t *testing.T) {
	host := closedAddr()
	msg := fatalMessage(func(tb testing.TB) { agentAt(tb, "http://"+host) })
	if !strings.Contains(msg, "no Nomad agent answers") || !strings.Contains(msg, "run scripts/nomad.sh") {
		t.Errorf("agent missing: failed with %q, want it to name scripts/nomad.sh", msg)
	}
	msg = fatalMessage(func(tb testing.TB) { registryAt(tb, host) })
	if !strings.Contains(msg, "no registry answers") || !strings.Contains(msg, "run scripts/registry.sh") {
		t.Errorf("registry missing: failed with %q, want it to name scripts/registry.sh", msg)
	}
}

func TestPresentPartsReturnTheirAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/nodes":
			fmt.Fprint(w, `[{"Name":"n1","Status":"ready","Drivers":{"docker":{"Healthy":true}}}]`)
		case "/v2/":
			fmt.Fprint(w, `{}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if got := agentAt(t, srv.URL); got != srv.URL {
		t.Errorf("agentAt = %q, want %q", got, srv.URL)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if got := registryAt(t, host); got != host {
		t.Errorf("registryAt = %q, want %q", got, host)
	}
}
