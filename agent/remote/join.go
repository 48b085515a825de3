package remote

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// What the server's cluster listener serves (scheduler/nodes) and the agent calls
// (agent/daemon).
const (
	// JoinPath is where an agent trades a join token and a CSR for its node certificate.
	JoinPath = "/v1/join"
	// ConnectPath is where an agent with a node certificate upgrades its connection to a session.
	ConnectPath = "/v1/connect"
	// UpgradeProtocol is the Upgrade header of the connect request and of the 101 answer.
	UpgradeProtocol = "hearth-agent/1"
)

// Error codes of the cluster listener, in the ErrorBody of a join or connect that fails.
const (
	CodeJoinTokenInvalid = "join_token_invalid" // 401: malformed, unknown or revoked token, or a wrong secret
	CodeJoinTokenExpired = "join_token_expired" // 401
	CodeNodeUnknown      = "node_unknown"       // 401: the node was removed or never joined
	CodeBadRequest       = "bad_request"        // 400
)

// JoinRequest is the body of POST JoinPath.
type JoinRequest struct {
	Token string `json:"token"`
	// Name is the agent's name (its host name by default); the server derives the node id from it.
	Name string `json:"name"`
	// CSR is a PEM "CERTIFICATE REQUEST" for the agent's key (ECDSA P-256).
	CSR string `json:"csr"`
}

// JoinResponse is the body of a 200 answer to POST JoinPath.
type JoinResponse struct {
	// NodeID is the id the server assigned: "<sanitized name>-<8 hex>", the CN of Cert.
	NodeID string `json:"node_id"`
	// Cert is the node's PEM certificate (client auth, one year).
	Cert string `json:"cert"`
	// CA is the cluster CA's PEM certificate: the agent verifies the server with it from now on.
	CA string `json:"ca"`
}

// ErrorBody is the JSON body of every error answer on the cluster listener and of the agent's
// API over the session: {"error": {"code": "...", "message": "..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error inside an ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// TokenPrefix starts every join token.
const TokenPrefix = "hjt_"

// ErrMalformedToken: a join token that does not have the form hjt_<16 hex>_<64 hex>_<64 hex>.
var ErrMalformedToken = errors.New("malformed join token")

// JoinToken is a parsed join token: hjt_<ID>_<Secret>_<CAPin>, all lowercase hex. The server
// stores ID and SHA-256(Secret); the agent checks the server's CA against CAPin before it sends
// the token anywhere.
type JoinToken struct {
	ID     string // 16 hex (8 bytes)
	Secret string // 64 hex (32 bytes)
	CAPin  string // 64 hex: CAPin of the cluster CA certificate
}

// String returns the token in its one-string form.
func (t JoinToken) String() string { return TokenPrefix + t.ID + "_" + t.Secret + "_" + t.CAPin }

// ParseJoinToken parses a join token. Surrounding white space is ignored (a token pasted from
// a terminal often has some); anything else wrong is ErrMalformedToken with what is wrong.
func ParseJoinToken(s string) (JoinToken, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return JoinToken{}, fmt.Errorf("%w: the token is empty", ErrMalformedToken)
	}
	if !strings.HasPrefix(s, TokenPrefix) {
		return JoinToken{}, fmt.Errorf("%w: it must start with %q (make one with `hearth node token create`)", ErrMalformedToken, TokenPrefix)
	}
	parts := strings.Split(strings.TrimPrefix(s, TokenPrefix), "_")
	if len(parts) != 3 {
		return JoinToken{}, fmt.Errorf("%w: want %s<id>_<secret>_<ca pin>, got %d part(s) after %q; was it cut when copied?", ErrMalformedToken, TokenPrefix, len(parts), TokenPrefix)
	}
	t := JoinToken{ID: parts[0], Secret: parts[1], CAPin: parts[2]}
	for _, f := range []struct {
		name, val string
		n         int
	}{{"id", t.ID, 16}, {"secret", t.Secret, 64}, {"ca pin", t.CAPin, 64}} {
		if len(f.val) != f.n || !isLowerHex(f.val) {
			return JoinToken{}, fmt.Errorf("%w: its %s must be %d lowercase hex digits, got %d characters; was it cut when copied?", ErrMalformedToken, f.name, f.n, len(f.val))
		}
	}
	return t, nil
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// NewJoinToken makes a token with a fresh id and secret from rnd (crypto/rand.Reader when nil)
// for the CA whose pin is caPin.
func NewJoinToken(rnd io.Reader, caPin string) (JoinToken, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	b := make([]byte, 8+32)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return JoinToken{}, fmt.Errorf("make a join token: %w", err)
	}
	return JoinToken{ID: hex.EncodeToString(b[:8]), Secret: hex.EncodeToString(b[8:]), CAPin: caPin}, nil
}

// CAPin returns the pin of a CA certificate: the lowercase hex SHA-256 of its DER.
func CAPin(caDER []byte) string {
	sum := sha256.Sum256(caDER)
	return hex.EncodeToString(sum[:])
}

// ErrPinMismatch: the server's certificate chain does not lead to the CA the join token pins.
var ErrPinMismatch = errors.New("the server's CA does not match the join token's CA pin")

// PinnedTLSConfig returns the TLS configuration an agent joins with, before it has the CA: the
// server's chain must contain a CA certificate whose CAPin is pin, the server's certificate must
// be signed by it (directly or through the chain's intermediates) and be valid for serverName
// (a host name or an IP address). Go's own verification is off, since the CA is in no pool; this
// check replaces it.
func PinnedTLSConfig(pin, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		InsecureSkipVerify: true, //nolint:gosec // VerifyPeerCertificate checks the chain against the pin
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyPinned(raw, pin, serverName)
		},
	}
}

func verifyPinned(raw [][]byte, pin, serverName string) error {
	if len(raw) == 0 {
		return fmt.Errorf("%w: the server sent no certificate", ErrPinMismatch)
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("the server's certificate %d: %w", i, err)
		}
		certs[i] = c
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	found := false
	for _, c := range certs[1:] {
		if subtle.ConstantTimeCompare([]byte(CAPin(c.Raw)), []byte(pin)) == 1 && c.IsCA {
			roots.AddCert(c)
			found = true
		} else {
			inter.AddCert(c)
		}
	}
	// A server may present its CA as its own certificate only if it is also the pinned one;
	// that is a self-signed server, which is as good as a pinned CA.
	if !found && CAPin(certs[0].Raw) == pin {
		roots.AddCert(certs[0])
		found = true
	}
	if !found {
		return fmt.Errorf("%w: is the token for this server? (it pins %s…)", ErrPinMismatch, pin[:min(12, len(pin))])
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{
		DNSName:       serverName,
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		var he x509.HostnameError
		if errors.As(err, &he) {
			return fmt.Errorf("the server's certificate is not valid for %s, the host the agent dials: %w; dial a name or address it has (the server's --cluster-advertise adds some)", serverName, err)
		}
		return fmt.Errorf("the server's certificate: %w", err)
	}
	return nil
}
