package daemon

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/agent/remote"
)

// joinTimeout bounds the join request.
const joinTimeout = 30 * time.Second

// ErrNoJoinToken: the data directory holds no credential and no join token was given.
var ErrNoJoinToken = errors.New("this node has not joined yet and no join token was given")

// ErrJoinRefused: the server answered the join with an error (its message is in the error).
var ErrJoinRefused = errors.New("join refused")

// Join returns the node's credential: the one kept in cfg.DataDir, or else a new one, got from
// the server with cfg.JoinToken and saved there. The token and the URL are checked before
// anything touches the network. An answer of the server's other than 200 is ErrJoinRefused with
// the server's message (a 401 says why the token is not accepted).
func Join(ctx context.Context, cfg Config) (*Credentials, error) {
	cfg.withDefaults()
	srv, err := parseServerURL(cfg.ServerURL)
	if err != nil {
		return nil, err
	}
	cred, err := LoadCredentials(cfg.DataDir)
	if err == nil {
		msg := "already joined: using the node's credential"
		if cfg.JoinToken != "" {
			msg += ", not the join token"
		}
		cfg.Log.Info(msg, "node", cred.NodeID, "data_dir", cfg.DataDir)
		return cred, nil
	}
	if !errors.Is(err, ErrNotJoined) {
		return nil, err
	}
	if cfg.JoinToken == "" {
		return nil, ErrNoJoinToken
	}
	tok, err := remote.ParseJoinToken(cfg.JoinToken)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		return nil, errors.New("the node needs a name to join")
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make the node's key: %w", err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cfg.Name},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("make the certificate request: %w", err)
	}
	resp, err := postJoin(ctx, srv, tok, remote.JoinRequest{
		Token: tok.String(),
		Name:  cfg.Name,
		CSR:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})),
	})
	if err != nil {
		return nil, err
	}
	certPEM, caPEM, err := checkJoinResponse(resp, key, tok.CAPin)
	if err != nil {
		return nil, fmt.Errorf("the server's answer to the join: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := saveCredentials(cfg.DataDir, resp.NodeID, keyPEM, certPEM, caPEM); err != nil {
		return nil, err
	}
	cfg.Log.Info("joined the cluster", "node", resp.NodeID, "server", srv.url, "data_dir", cfg.DataDir)
	return LoadCredentials(cfg.DataDir)
}

// postJoin sends the join request over TLS that must lead to the pinned CA.
func postJoin(ctx context.Context, srv server, tok remote.JoinToken, req remote.JoinRequest) (remote.JoinResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return remote.JoinResponse{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+srv.hostport+remote.JoinPath, bytes.NewReader(body))
	if err != nil {
		return remote.JoinResponse{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	tr := &http.Transport{TLSClientConfig: remote.PinnedTLSConfig(tok.CAPin, srv.host), DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hresp, err := (&http.Client{Transport: tr}).Do(hreq)
	switch {
	case errors.Is(err, remote.ErrPinMismatch):
		return remote.JoinResponse{}, fmt.Errorf("join %s: the server's certificate is not from the CA the join token pins; was the token made on this server? (%w)", srv.url, err)
	case err != nil:
		return remote.JoinResponse{}, fmt.Errorf("join %s: %w", srv.url, err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		se := remote.ReadStatusError(hresp)
		return remote.JoinResponse{}, fmt.Errorf("join %s: %w: %w", srv.url, ErrJoinRefused, se)
	}
	var resp remote.JoinResponse
	if err := json.NewDecoder(io.LimitReader(hresp.Body, 1<<20)).Decode(&resp); err != nil {
		return remote.JoinResponse{}, fmt.Errorf("join %s: read the answer: %w", srv.url, err)
	}
	return resp, nil
}

// checkJoinResponse makes sure the answer is a certificate for key, with the node id as CN,
// signed by the pinned CA, and returns the certificate and the CA in PEM.
func checkJoinResponse(resp remote.JoinResponse, key *ecdsa.PrivateKey, pin string) (certPEM, caPEM []byte, err error) {
	if !validNodeID(resp.NodeID) {
		return nil, nil, fmt.Errorf("node id %q is not [a-z0-9-], 1 to 253 characters", resp.NodeID)
	}
	ca, err := parseCertPEM(resp.CA)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %w", err)
	}
	if remote.CAPin(ca.Raw) != pin {
		return nil, nil, fmt.Errorf("ca: not the CA the join token pins")
	}
	cert, err := parseCertPEM(resp.Cert)
	if err != nil {
		return nil, nil, fmt.Errorf("cert: %w", err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("cert: not for this node's key")
	}
	if cert.Subject.CommonName != resp.NodeID {
		return nil, nil, fmt.Errorf("cert: CN %q, not the node id %q", cert.Subject.CommonName, resp.NodeID)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, nil, fmt.Errorf("cert: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), nil
}

func parseCertPEM(s string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM CERTIFICATE")
	}
	return x509.ParseCertificate(block.Bytes)
}

// validNodeID reports whether id is fit to be a file's content and a label value: the server
// makes ids of [a-z0-9-].
func validNodeID(id string) bool {
	if id == "" || len(id) > 253 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
