package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearthfn/hearth/internal/privatefile"
)

// credentials are what `hearth login` keeps in the user's config directory: a token per server,
// and the server commands talk to when neither --api nor HEARTH_API says.
type credentials struct {
	Current string                 `json:"current,omitempty"`
	Servers map[string]savedServer `json:"servers,omitempty"`
}

type savedServer struct {
	Token string `json:"token"`
}

// credentialsPath is the file login writes, or "" when the user has no config directory.
func (a *app) credentialsPath() string {
	if a.opts.ConfigDir == "" {
		return ""
	}
	return filepath.Join(a.opts.ConfigDir, "hearth", "credentials.json")
}

// loadCredentials reads the saved credentials; a missing file is no credentials.
func (a *app) loadCredentials() (credentials, error) {
	var c credentials
	path := a.credentialsPath()
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	} else if err != nil {
		return c, fmt.Errorf("read saved logins: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("read saved logins %s: %v (remove the file and run hearth login again)", path, err)
	}
	return c, nil
}

// saveCredentials writes c readable by the user only.
func (a *app) saveCredentials(c credentials) error {
	path := a.credentialsPath()
	if path == "" {
		return errors.New("no config directory to save the login in: set HOME (or XDG_CONFIG_HOME), or use HEARTH_TOKEN")
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return privatefile.Write(path, append(b, '\n'))
}

// serverKey is how a server URL is saved: without a trailing slash.
func serverKey(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// token returns the token to send to the server at serverURL, and where it came from: the
// environment (HEARTH_TOKEN), the saved login for that server, or, for a server on this
// machine, the admin token its first start wrote into its data directory.
func (a *app) token(serverURL string, creds credentials) (tok, source string) {
	if t := strings.TrimSpace(a.opts.Getenv("HEARTH_TOKEN")); t != "" {
		return t, "HEARTH_TOKEN"
	}
	if s, ok := creds.Servers[serverKey(serverURL)]; ok && s.Token != "" {
		return s.Token, "hearth login"
	}
	if !isLocal(serverURL) {
		return "", ""
	}
	path := a.localAdminTokenPath()
	if path == "" {
		return "", ""
	}
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), path
	}
	return "", ""
}

// localAdminTokenPath is where a server on this machine keeps its first admin token:
// $HEARTH_DATA_DIR/admin-token, else ~/.hearth/admin-token (the server's default data
// directory).
func (a *app) localAdminTokenPath() string {
	dir := a.opts.Getenv("HEARTH_DATA_DIR")
	if dir == "" && a.opts.HomeDir != "" {
		dir = filepath.Join(a.opts.HomeDir, ".hearth")
	}
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "admin-token")
}

// isLocal reports whether a server URL names this machine (a loopback address or localhost):
// only then may a token found on this machine's disk be sent to it.
func isLocal(serverURL string) bool {
	u, err := url.Parse(serverURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
