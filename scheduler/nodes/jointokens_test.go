package nodes

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
	"github.com/hearthfn/hearth/scheduler/store"
)

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 30 * time.Minute, " 2h ": 2 * time.Hour, "24h": 24 * time.Hour, "1s": time.Second} {
		if got, err := ParseTTL(in); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"25h", "0s", "-5m", "30d", "soon", "500ms"} {
		_, err := ParseTTL(in)
		var re *auth.RequestError
		if !errors.As(err, &re) || re.Field != "expires_in" {
			t.Errorf("ParseTTL(%q) = %v; want a RequestError on expires_in", in, err)
		}
	}
}

var tokenRE = regexp.MustCompile(`^hjt_([0-9a-f]{16})_([0-9a-f]{64})_([0-9a-f]{64})$`)

func TestCreateListRevokeJoinTokens(t *testing.T) {
	e := newEnv(t)
	nt, err := e.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{Labels: map[string]string{"zone": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	m := tokenRE.FindStringSubmatch(nt.Token)
	if m == nil || m[1] != nt.ID || m[3] != e.m.PKI().Pin() {
		t.Fatalf("token %q (id %s): want hjt_<id>_<secret>_<this CA's pin>", nt.Token, nt.ID)
	}
	if !nt.ExpiresAt.Equal(e.clock.Now().Add(30*time.Minute)) || nt.Labels["zone"] != "a" {
		t.Fatalf("token record %+v: want 30 minutes and the labels", nt.JoinToken)
	}
	rec, err := e.st.GetJoinToken(t.Context(), nt.ID)
	if err != nil || rec.SecretHash != hashSecret(m[2]) || strings.Contains(rec.SecretHash, m[2]) {
		t.Fatalf("stored %+v, %v: want the secret's hash only", rec, err)
	}
	e.clock.Add(time.Second)
	if _, err := e.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{ExpiresIn: "2h"}); err != nil {
		t.Fatal(err)
	}
	list, err := e.m.ListJoinTokens(t.Context())
	if err != nil || len(list) != 2 || list[0].ID != nt.ID {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := e.m.RevokeJoinToken(t.Context(), nt.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.m.ListJoinTokens(t.Context()); !list[0].Revoked || list[1].Revoked {
		t.Fatalf("after revoke: %+v", list)
	}
	if err := e.m.RevokeJoinToken(t.Context(), "0123456789abcdef"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	for _, req := range []api.JoinTokenRequest{
		{ExpiresIn: "48h"},
		{Labels: map[string]string{"a=b": "c"}},
		{Labels: map[string]string{"": "c"}},
		{Labels: map[string]string{"k": "two\nlines"}},
	} {
		_, err := e.m.CreateJoinToken(t.Context(), req)
		var re *auth.RequestError
		if !errors.As(err, &re) {
			t.Errorf("create %+v: %v, want a RequestError", req, err)
		}
	}
}

func TestJoin(t *testing.T) {
	e := newEnv(t)
	nt, err := e.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{ExpiresIn: "10m", Labels: map[string]string{"zone": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	csr := string(newCSR(t, ecKey(t)))
	resp, err := e.m.Join(t.Context(), remote.JoinRequest{Token: " " + nt.Token + "\n", Name: "Web_1.example.com", CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^web-1-example-com-[0-9a-f]{8}$`).MatchString(resp.NodeID) {
		t.Fatalf("node id %q", resp.NodeID)
	}
	if resp.CA != string(e.m.PKI().CACertPEM()) || !strings.Contains(resp.Cert, "BEGIN CERTIFICATE") {
		t.Fatalf("response %+v", resp)
	}
	rec, err := e.st.GetNode(t.Context(), resp.NodeID)
	if err != nil || rec.Name != "Web_1.example.com" || rec.Labels["zone"] != "a" || rec.State != store.NodeReady {
		t.Fatalf("stored node %+v, %v", rec, err)
	}
	if v, err := e.m.Get(t.Context(), resp.NodeID); err != nil || v.State != Disconnected {
		t.Fatalf("joined node %+v, %v: want disconnected until it connects", v, err)
	}
	// The token is good for more nodes until it expires.
	second, err := e.m.Join(t.Context(), remote.JoinRequest{Token: nt.Token, Name: "web-1.example.com", CSR: csr})
	if err != nil || second.NodeID == resp.NodeID {
		t.Fatalf("a second join with the token: %+v, %v; want another node", second, err)
	}

	tok, _ := remote.ParseJoinToken(nt.Token)
	wrongSecret := remote.JoinToken{ID: tok.ID, Secret: strings.Repeat("0", 64), CAPin: tok.CAPin}.String()
	otherPin := remote.JoinToken{ID: tok.ID, Secret: tok.Secret, CAPin: strings.Repeat("a", 64)}.String()
	unknown := remote.JoinToken{ID: "0123456789abcdef", Secret: tok.Secret, CAPin: tok.CAPin}.String()
	for _, c := range []struct {
		name, token, nodeName, csr string
		want                       error
		says                       string
	}{
		{"malformed", "hth_abc", "n", csr, ErrJoinTokenInvalid, "must start with"},
		{"cut short", nt.Token[:40], "n", csr, ErrJoinTokenInvalid, "cut"},
		{"wrong secret", wrongSecret, "n", csr, ErrJoinTokenInvalid, "unknown"},
		{"another server's", otherPin, "n", csr, ErrJoinTokenInvalid, "another hearth server"},
		{"unknown", unknown, "n", csr, ErrJoinTokenInvalid, "unknown"},
		{"no name", nt.Token, " ", csr, ErrBadJoinRequest, "name"},
		{"bad csr", nt.Token, "n", "junk", ErrBadJoinRequest, "csr"},
	} {
		_, err := e.m.Join(t.Context(), remote.JoinRequest{Token: c.token, Name: c.nodeName, CSR: c.csr})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v; want %v saying %q", c.name, err, c.want, c.says)
		}
	}

	e.clock.Add(10 * time.Minute)
	_, err = e.m.Join(t.Context(), remote.JoinRequest{Token: nt.Token, Name: "late", CSR: csr})
	if !errors.Is(err, ErrJoinTokenExpired) || !strings.Contains(err.Error(), "expired at") {
		t.Fatalf("join with an expired token: %v", err)
	}
	live, err := e.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.RevokeJoinToken(t.Context(), live.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.m.Join(t.Context(), remote.JoinRequest{Token: live.Token, Name: "n", CSR: csr})
	if !errors.Is(err, ErrJoinTokenInvalid) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("join with a revoked token: %v", err)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"web-1":                             "web-1",
		"Web_1.Example.COM":                 "web-1-example-com",
		"--a--b--":                          "a-b",
		"ünïcödé":                           "n-c-d",
		"!!!":                               "node",
		strings.Repeat("ab", 100):           strings.Repeat("ab", 20),
		"a" + strings.Repeat(".", 50) + "b": "a-b",
	} {
		if got := sanitizeName(in); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}
