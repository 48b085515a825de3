package remote_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/hearthfn/hearth/agent/remote"
)

// TestUpgradeCarriesASession connects an agent-side DialUpgrade to a server-side AcceptUpgrade
// and runs a yamux session over the result, both ways.
func TestUpgradeCarriesASession(t *testing.T) {
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	sessions := make(chan *yamux.Session, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != remote.ConnectPath {
			remote.WriteError(w, http.StatusNotFound, "not_found", "no such path")
			return
		}
		if r.Header.Get("X-Refuse") != "" {
			remote.WriteError(w, http.StatusUnauthorized, remote.CodeNodeUnknown, "node n1 was removed or never joined")
			return
		}
		conn, err := remote.AcceptUpgrade(w, r)
		if err != nil {
			return
		}
		sess, err := yamux.Server(conn, remote.SessionConfig(log))
		if err != nil {
			t.Error(err)
			return
		}
		// The server opens a stream at once, before the agent sends anything: its first bytes
		// may arrive with the 101.
		s, err := sess.Open()
		if err != nil {
			t.Error(err)
			return
		}
		s.Write([]byte("from server")) //nolint:errcheck // the agent checks
		s.Close()
		sessions <- sess
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	up, err := remote.DialUpgrade(context.Background(), conn, host)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := yamux.Client(up, remote.SessionConfig(log))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	s, err := sess.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(s)
	if err != nil || string(b) != "from server" {
		t.Fatalf("read %q, %v", b, err)
	}
	serverSess := <-sessions
	defer serverSess.Close()
	ctl, err := sess.Open()
	if err != nil {
		t.Fatal(err)
	}
	ctl.Write([]byte("from agent")) //nolint:errcheck // checked below
	ctl.Close()
	got, err := serverSess.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(got); err != nil || string(b) != "from agent" {
		t.Fatalf("server read %q, %v", b, err)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	var mode atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "unknown":
			remote.WriteError(w, http.StatusUnauthorized, remote.CodeNodeUnknown, "node n1 was removed or never joined; join again with a new token")
		case "html":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>bad gateway</html>") //nolint:errcheck // test
		case "hang":
			<-r.Context().Done()
		default:
			if _, err := remote.AcceptUpgrade(w, r); !errors.Is(err, remote.ErrNotUpgrade) {
				t.Errorf("AcceptUpgrade of a plain request: %v", err)
			}
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// A request without the upgrade headers gets 400 bad_request.
	mode.Store("plain")
	resp, err := http.Get(srv.URL + remote.ConnectPath)
	if err != nil {
		t.Fatal(err)
	}
	se := remote.ReadStatusError(resp)
	resp.Body.Close()
	if se.StatusCode != http.StatusBadRequest || se.Code != remote.CodeBadRequest {
		t.Errorf("a plain GET: %+v", se)
	}

	dial := func(ctx context.Context) error {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = remote.DialUpgrade(ctx, conn, host)
		return err
	}
	mode.Store("unknown")
	err = dial(context.Background())
	if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized || se.Code != remote.CodeNodeUnknown ||
		err.Error() != "node n1 was removed or never joined; join again with a new token (node_unknown)" {
		t.Errorf("a refused node: %v", err)
	}
	mode.Store("html")
	if err := dial(context.Background()); !errors.As(err, &se) || se.StatusCode != http.StatusBadGateway ||
		!strings.Contains(err.Error(), "bad gateway") {
		t.Errorf("a proxy's page: %v", err)
	}
	mode.Store("hang")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := dial(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a server that does not answer: %v", err)
	}
}
