package nodes

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/remote"
)

func newCSR(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "chosen-by-agent"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPKIMadeOnceAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	p, err := LoadPKI(dir, []string{"hearth.example", "10.1.2.3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{caKeyFile, serverKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v; want mode 0600", f, fi, err)
		}
	}
	if len(p.Pin()) != 64 || p.Pin() != remote.CAPin(p.caCert.Raw) {
		t.Fatalf("pin %q", p.Pin())
	}
	leaf := p.server.Leaf
	for _, h := range []string{"hearth.example", "10.1.2.3", "127.0.0.1", "localhost"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("the server certificate does not name %s: %v", h, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.CAPool(), DNSName: "hearth.example",
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("server certificate: %v", err)
	}

	again, err := LoadPKI(dir, []string{"hearth.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Pin() != p.Pin() || !again.server.Leaf.Equal(leaf) {
		t.Fatal("a second start made a new CA or server certificate though nothing changed")
	}
	moved, err := LoadPKI(dir, []string{"other.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Pin() != p.Pin() || moved.server.Leaf.Equal(leaf) || moved.server.Leaf.VerifyHostname("other.example") != nil {
		t.Fatal("a new host: want the same CA and a new server certificate naming it")
	}
	later := func() time.Time { return time.Now().Add(serverLife - 10*24*time.Hour) }
	renewed, err := LoadPKI(dir, []string{"other.example"}, later)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.server.Leaf.Equal(moved.server.Leaf) {
		t.Fatal("a server certificate that ends within 30 days was kept")
	}
}

func TestPKIRefusesACAWithoutItsKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadPKI(dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, caKeyFile)); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPKI(dir, nil, nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("load without the CA key: %v, want a clear error", err)
	}
	t.Log(err)
}

func TestSignNode(t *testing.T) {
	p, err := LoadPKI(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := ecKey(t)
	certPEM, err := p.SignNode(newCSR(t, key), "web-1-0a0b0c0d")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "web-1-0a0b0c0d" {
		t.Fatalf("CN %q: want the node id, not the CSR's", cert.Subject.CommonName)
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Fatal("the certificate is not for the CSR's key")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: p.CAPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("verify for client auth: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: p.CAPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Fatal("a node certificate is good for server auth")
	}
	if life := cert.NotAfter.Sub(cert.NotBefore); life < NodeCertLife || life > NodeCertLife+time.Hour {
		t.Fatalf("life %s, want %s", life, NodeCertLife)
	}

	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	other := newCSR(t, ecKey(t))
	block, _ = pem.Decode(other)
	block.Bytes[len(block.Bytes)-5] ^= 0xff // the signature
	for name, csr := range map[string][]byte{
		"not PEM":        []byte("hello"),
		"a certificate":  certPEM,
		"weak key":       newCSR(t, weak),
		"bad signature":  pem.EncodeToMemory(block),
		"not a CSR body": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("junk")}),
	} {
		if _, err := p.SignNode(csr, "n"); !errors.Is(err, ErrBadJoinRequest) {
			t.Errorf("%s: %v, want ErrBadJoinRequest", name, err)
		}
	}
}

func TestServerSANs(t *testing.T) {
	got := serverSANs([]string{"[::1]", " Hearth.Example ", "", "0.0.0.0"})
	has := map[string]bool{}
	for _, h := range got {
		has[h] = true
	}
	for _, want := range []string{"::1", "hearth.example", "127.0.0.1", "localhost"} {
		if !has[want] {
			t.Errorf("SANs %v lack %s", got, want)
		}
	}
	if has["0.0.0.0"] {
		t.Errorf("SANs %v name the unspecified address", got)
	}
}
