package remote_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/agent/remote/remotetest"
)

const (
	hex16 = "0123456789abcdef"
	hex64 = hex16 + hex16 + hex16 + hex16
)

func TestParseJoinToken(t *testing.T) {
	good := "hjt_" + hex16 + "_" + strings.Repeat("a", 64) + "_" + hex64
	tok, err := remote.ParseJoinToken("  " + good + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID != hex16 || tok.Secret != strings.Repeat("a", 64) || tok.CAPin != hex64 || tok.String() != good {
		t.Fatalf("parsed %+v", tok)
	}
	for _, tc := range []struct{ token, want string }{
		{"", "empty"},
		{"abc_" + hex16 + "_" + hex64 + "_" + hex64, `must start with "hjt_"`},
		{"hjt_" + hex16 + "_" + hex64, "got 2 part(s)"},
		{"hjt_" + hex16 + "_" + hex64 + "_" + hex64 + "_x", "got 4 part(s)"},
		{"hjt_" + hex16[:15] + "_" + hex64 + "_" + hex64, "id must be 16 lowercase hex digits, got 15"},
		{"hjt_" + hex16 + "_" + hex64[:63] + "_" + hex64, "secret must be 64"},
		{"hjt_" + hex16 + "_" + hex64 + "_" + hex64[:40], "ca pin must be 64 lowercase hex digits, got 40"},
		{"hjt_" + hex16 + "_" + strings.ToUpper(hex64) + "_" + hex64, "secret must be 64 lowercase hex"},
		{"hjt_" + hex16 + "_" + hex64 + "_" + strings.Repeat("g", 64), "ca pin"},
	} {
		_, err := remote.ParseJoinToken(tc.token)
		if !errors.Is(err, remote.ErrMalformedToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJoinToken(%q) = %v, want ErrMalformedToken saying %q", tc.token, err, tc.want)
		}
	}
}

func TestNewJoinTokenParses(t *testing.T) {
	tok, err := remote.NewJoinToken(nil, hex64)
	if err != nil {
		t.Fatal(err)
	}
	back, err := remote.ParseJoinToken(tok.String())
	if err != nil || back != tok {
		t.Fatalf("round trip of %v: %+v, %v", tok, back, err)
	}
	other, _ := remote.NewJoinToken(nil, hex64)
	if other.ID == tok.ID || other.Secret == tok.Secret {
		t.Fatal("two tokens share an id or a secret")
	}
	if _, err := remote.NewJoinToken(bytes.NewReader(nil), hex64); err == nil {
		t.Fatal("a token from an empty random source")
	}
}

// tlsServer serves 204 over TLS with cert.
func tlsServer(t *testing.T, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(srv *httptest.Server, cfg *tls.Config) error {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(srv.URL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func TestPinnedTLSConfig(t *testing.T) {
	ca, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert("127.0.0.1", "hearth.example")
	if err != nil {
		t.Fatal(err)
	}
	srv := tlsServer(t, cert)
	if err := get(srv, remote.PinnedTLSConfig(ca.Pin(), "127.0.0.1")); err != nil {
		t.Fatalf("the pinned CA was refused: %v", err)
	}

	other, _ := remotetest.NewCA()
	err = get(srv, remote.PinnedTLSConfig(other.Pin(), "127.0.0.1"))
	if !errors.Is(err, remote.ErrPinMismatch) {
		t.Fatalf("another CA's pin: %v, want ErrPinMismatch", err)
	}

	if err := get(srv, remote.PinnedTLSConfig(ca.Pin(), "elsewhere.example")); err == nil || !strings.Contains(err.Error(), "elsewhere.example") {
		t.Fatalf("a certificate for another host: %v", err)
	}

	// A server that sends no CA in its chain cannot be checked against the pin.
	leafOnly := cert
	leafOnly.Certificate = leafOnly.Certificate[:1]
	if err := get(tlsServer(t, leafOnly), remote.PinnedTLSConfig(ca.Pin(), "127.0.0.1")); !errors.Is(err, remote.ErrPinMismatch) {
		t.Fatalf("a chain without the CA: %v", err)
	}

	// A server that sends the pinned CA with a leaf the CA did not sign is refused too.
	forged, _ := other.ServerCert("127.0.0.1")
	forged.Certificate = [][]byte{forged.Certificate[0], ca.Cert.Raw}
	if err := get(tlsServer(t, forged), remote.PinnedTLSConfig(ca.Pin(), "127.0.0.1")); err == nil {
		t.Fatal("a leaf of another CA behind the pinned CA was accepted")
	}
}

func TestCAPin(t *testing.T) {
	// sha256("") is well known.
	if got := remote.CAPin(nil); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("CAPin(nil) = %s", got)
	}
}
