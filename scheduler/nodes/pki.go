package nodes

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/internal/privatefile"
)

// Files of the cluster's PKI in <data dir>/cluster.
const (
	caCertFile     = "ca.pem"
	caKeyFile      = "ca-key.pem"
	serverCertFile = "server.pem"
	serverKeyFile  = "server-key.pem"
)

const (
	caLife     = 10 * 365 * 24 * time.Hour
	serverLife = 365 * 24 * time.Hour
	// NodeCertLife is how long a node's certificate is valid. Renewal is not automatic: a node
	// whose certificate expired joins again with a new token.
	NodeCertLife = 365 * 24 * time.Hour
	// serverRenewBefore: a server certificate with less left than this is made anew at start.
	serverRenewBefore = 30 * 24 * time.Hour
	// skew backdates certificates, so that a node whose clock is a little behind accepts them.
	skew = 5 * time.Minute
)

// PKI is the cluster's certificate authority and the cluster listener's certificate, kept in
// one directory. The CA signs node certificates at join; the listener presents its certificate
// with the CA's, so that an agent holding only the CA's pin can check the chain.
type PKI struct {
	caCert *x509.Certificate
	caKey  crypto.Signer
	server tls.Certificate // chain: server certificate, CA certificate
	now    func() time.Time
}

// LoadPKI loads the CA and the server certificate from dir, making what is missing: a CA
// (ECDSA P-256, ten years) at first start, and a server certificate (one year) when there is
// none, when it expires within 30 days, or when it lacks one of hosts. hosts are the names and
// addresses agents dial (the listener's host, --cluster-advertise hosts); 127.0.0.1, localhost
// and the machine's host name are always added, and an unspecified address (0.0.0.0, ::)
// stands for every address of the machine's interfaces. now may be nil (time.Now).
func LoadPKI(dir string, hosts []string, now func() time.Time) (*PKI, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the cluster directory: %w", err)
	}
	p := &PKI{now: now}
	if err := p.loadOrCreateCA(dir); err != nil {
		return nil, err
	}
	if err := p.loadOrCreateServer(dir, serverSANs(hosts)); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) loadOrCreateCA(dir string) error {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	_, err := os.Stat(certPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// The key is written before the certificate: a key without a certificate is a first
		// start that did not finish, and no node can have the CA's pin yet.
		return p.createCA(certPath, keyPath)
	case err != nil:
		return fmt.Errorf("read the cluster CA: %w", err)
	}
	cert, key, err := loadPair(certPath, keyPath)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the cluster CA's key %s is missing: restore it from a backup, or remove %s to make a new CA (every node must then join again): %w",
			keyPath, certPath, err)
	} else if err != nil {
		return fmt.Errorf("load the cluster CA: %w", err)
	}
	if !cert.Leaf.IsCA {
		return fmt.Errorf("load the cluster CA: %s is not a CA certificate", certPath)
	}
	p.caCert, p.caKey = cert.Leaf, key
	return nil
}

func (p *PKI) createCA(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl, err := p.template("hearth cluster CA", caLife)
	if err != nil {
		return err
	}
	// The serial's first digits tell one cluster's CA from another's.
	tmpl.Subject.CommonName += " " + tmpl.SerialNumber.Text(16)[:8]
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.MaxPathLenZero = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("make the cluster CA: %w", err)
	}
	if err := writePair(certPath, keyPath, der, key); err != nil {
		return fmt.Errorf("save the cluster CA: %w", err)
	}
	p.caCert, err = x509.ParseCertificate(der)
	p.caKey = key
	return err
}

func (p *PKI) loadOrCreateServer(dir string, sans []string) error {
	certPath, keyPath := filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)
	cert, key, err := loadPair(certPath, keyPath)
	if err == nil && p.serverUsable(cert.Leaf, sans) {
		p.server = tls.Certificate{Certificate: [][]byte{cert.Leaf.Raw, p.caCert.Raw}, PrivateKey: key, Leaf: cert.Leaf}
		return nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("load the cluster listener's certificate (remove %s and %s to make new ones): %w", certPath, keyPath, err)
	}
	nkey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl, err := p.template("hearth server", serverLife)
	if err != nil {
		return err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range sans {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, nkey.Public(), p.caKey)
	if err != nil {
		return fmt.Errorf("make the cluster listener's certificate: %w", err)
	}
	if err := writePair(certPath, keyPath, der, nkey); err != nil {
		return fmt.Errorf("save the cluster listener's certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	p.server = tls.Certificate{Certificate: [][]byte{der, p.caCert.Raw}, PrivateKey: nkey, Leaf: leaf}
	return nil
}

// serverUsable says whether a stored server certificate can be kept: signed by the CA, valid
// for another 30 days, and naming every one of sans.
func (p *PKI) serverUsable(c *x509.Certificate, sans []string) bool {
	if c.CheckSignatureFrom(p.caCert) != nil || c.NotAfter.Sub(p.now()) < serverRenewBefore {
		return false
	}
	for _, h := range sans {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// serverSANs returns the names and addresses the server certificate names, sorted and without
// duplicates.
func serverSANs(hosts []string) []string {
	out := []string{"127.0.0.1", "localhost"}
	if h, err := os.Hostname(); err == nil && h != "" {
		out = append(out, strings.ToLower(h))
	}
	for _, h := range hosts {
		h = strings.Trim(strings.TrimSpace(h), "[]")
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			out = append(out, interfaceAddrs()...)
			continue
		}
		out = append(out, strings.ToLower(h))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// interfaceAddrs returns every address of the machine's interfaces, for a listener on all of
// them.
func interfaceAddrs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			out = append(out, n.IP.String())
		}
	}
	return out
}

// Pin returns the CA's pin: the lowercase hex SHA-256 of its certificate's DER. Join tokens
// carry it, so that an agent can check that it talks to this server before it has the CA.
func (p *PKI) Pin() string { return remote.CAPin(p.caCert.Raw) }

// CACertPEM returns the CA certificate in PEM.
func (p *PKI) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.caCert.Raw})
}

// CAPool returns a pool holding the CA alone.
func (p *PKI) CAPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	return pool
}

// ServerTLSConfig returns the cluster listener's TLS configuration: its certificate with the
// CA's, and client certificates verified against the CA when a client sends one (a joining
// agent has none yet; the connect handler requires one). Only HTTP/1.1 is offered: the connect
// request upgrades its connection, which HTTP/2 cannot.
func (p *PKI) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    p.CAPool(),
		NextProtos:   []string{"http/1.1"},
	}
}

// SignNode checks csrPEM (a PEM CERTIFICATE REQUEST signed by its own key) and returns a PEM
// certificate for its key with the CN nodeID, for client authentication, valid for
// NodeCertLife. The CSR's subject and extensions are ignored: the server decides what the
// certificate says. Errors: ErrBadJoinRequest for a CSR that is not one, or whose key is too
// weak.
func (p *PKI) SignNode(csrPEM []byte, nodeID string) ([]byte, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errorf(ErrBadJoinRequest, "csr must be a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, errorf(ErrBadJoinRequest, "csr: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, errorf(ErrBadJoinRequest, "csr is not signed by its key: %v", err)
	}
	if err := checkNodeKey(csr.PublicKey); err != nil {
		return nil, err
	}
	tmpl, err := p.template(nodeID, NodeCertLife)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, csr.PublicKey, p.caKey)
	if err != nil {
		return nil, fmt.Errorf("sign the certificate of node %s: %w", nodeID, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func checkNodeKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return errorf(ErrBadJoinRequest, "csr: an ECDSA key of %d bits is too weak; use P-256", k.Curve.Params().BitSize)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return errorf(ErrBadJoinRequest, "csr: an RSA key of %d bits is too weak; use 2048 bits or more", k.N.BitLen())
		}
	case ed25519.PublicKey:
	default:
		return errorf(ErrBadJoinRequest, "csr: unsupported key type %T", pub)
	}
	return nil
}

// template returns what every certificate the PKI makes has in common: a new serial, the
// subject cn of the organization hearth, valid for life from skew ago. The caller adds the
// certificate's uses.
func (p *PKI) template(cn string, life time.Duration) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := p.now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"hearth"}},
		NotBefore:    now.Add(-skew),
		NotAfter:     now.Add(life),
	}, nil
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

// loadPair reads a PEM certificate and its PEM key. The error is os.ErrNotExist (wrapped) when
// either file is missing.
func loadPair(certPath, keyPath string) (tls.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("%s and %s: %w", certPath, keyPath, err)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return tls.Certificate{}, nil, fmt.Errorf("%s: the key cannot sign", keyPath)
	}
	return pair, key, nil
}

// writePair writes the key (0600, through a temporary file) and then the certificate.
func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := privatefile.Write(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
