package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The files of a credential in the data directory.
const (
	keyFile    = "key.pem"
	certFile   = "cert.pem"
	caFile     = "ca.pem"
	nodeIDFile = "node-id"
)

// ErrNotJoined: the data directory holds no credential.
var ErrNotJoined = errors.New("not joined")

// Credentials are what a joined node keeps: its id, its certificate and key, and the CA.
type Credentials struct {
	NodeID string
	Cert   tls.Certificate
	// CA is a pool holding the cluster CA: the server's certificate must chain to it.
	CA *x509.CertPool
	// Dir is the data directory the credential is kept in.
	Dir string
}

// LoadCredentials reads the credential kept in dir. ErrNotJoined when there is none; an error
// naming the file when one is damaged.
func LoadCredentials(dir string) (*Credentials, error) {
	id, err := os.ReadFile(filepath.Join(dir, nodeIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotJoined
	}
	if err != nil {
		return nil, fmt.Errorf("read the node id: %w", err)
	}
	damaged := func(err error) error {
		return fmt.Errorf("the credential in %s is damaged: %w; remove %s and join again with a new token",
			dir, err, filepath.Join(dir, nodeIDFile))
	}
	if !exists(filepath.Join(dir, keyFile)) && !exists(filepath.Join(dir, certFile)) {
		// A hearth server keeps its own node-id in its data directory.
		return nil, fmt.Errorf("%s holds a node-id but no node key or certificate: is it a hearth server's data directory? Give the agent a data directory of its own", dir)
	}
	c := &Credentials{NodeID: strings.TrimSpace(string(id)), Dir: dir}
	if c.NodeID == "" {
		return nil, damaged(fmt.Errorf("%s is empty", nodeIDFile))
	}
	c.Cert, err = tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil {
		return nil, damaged(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		return nil, damaged(err)
	}
	c.CA = x509.NewCertPool()
	if !c.CA.AppendCertsFromPEM(caPEM) {
		return nil, damaged(fmt.Errorf("%s holds no PEM certificate", caFile))
	}
	return c, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// saveCredentials writes a credential to dir, node-id last so that a join cut short leaves no
// credential that looks whole.
func saveCredentials(dir, nodeID string, keyPEM, certPEM, caPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make the data directory: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{keyFile, keyPEM, 0o600},
		{certFile, certPEM, 0o644},
		{caFile, caPEM, 0o644},
		{nodeIDFile, []byte(nodeID + "\n"), 0o644},
	} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
