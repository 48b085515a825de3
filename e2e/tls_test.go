//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and returns their paths.
func selfSigned(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "hearth e2e"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// TestTLS: with --tls-cert and --tls-key the server answers HTTPS only, names https URLs, and
// the CLI talks to it trusting the certificate through SSL_CERT_FILE.
func TestTLS(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	s := startServer(t, serverOpts{https: true, extraArgs: []string{"--tls-cert", cert, "--tls-key", key}})

	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/info", nil)
	req.Header.Set("Authorization", "Bearer "+s.adminToken(t))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("HTTPS with the server's certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("HTTPS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	plain, err := http.Get(strings.Replace(s.URL, "https://", "http://", 1) + "/healthz")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Fatal("the HTTPS server answered plain HTTP")
		}
	}

	dir := s.newFunction(t, "tlsfn")
	r := cli(t, s, map[string]string{"HEARTH_API": s.URL, "HEARTH_TOKEN": s.adminToken(t), "SSL_CERT_FILE": cert}, "", "deploy", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "https://") {
		t.Fatalf("deploy over HTTPS: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, s, map[string]string{"HEARTH_API": s.URL, "HEARTH_TOKEN": s.adminToken(t)}, "", "list")
	if r.code == 0 || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("the CLI trusted an unknown certificate: %d %q", r.code, r.stderr)
	}
}

// TestPlainHTTPOnTheNetworkWarns: a server on an address other machines can reach, without
// TLS, says in its log what is exposed.
func TestPlainHTTPOnTheNetworkWarns(t *testing.T) {
	port := freeAddr(t)[len("127.0.0.1:"):]
	s := startServer(t, serverOpts{addr: "0.0.0.0:" + port})
	if !strings.Contains(s.logs(), "plain HTTP") || !strings.Contains(s.logs(), "--tls-cert") {
		t.Fatalf("no warning about plain HTTP on 0.0.0.0:\n%s", s.logs())
	}
	local := startServer(t, serverOpts{})
	if strings.Contains(local.logs(), "plain HTTP") {
		t.Fatalf("a loopback server warned about plain HTTP:\n%s", local.logs())
	}
}
