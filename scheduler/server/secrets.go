package server

import (
	"log/slog"
	"path/filepath"

	"github.com/hearthfn/hearth/scheduler/secrets"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// openSecrets loads the secrets key (making it at its first start) and returns the service
// that seals and opens functions' secrets. The key is kept apart from the store: a copy of the
// database alone reveals no secret (docs/operator/security.md, "The secrets key").
func openSecrets(st *sqlstore.Store, cfg Config, log *slog.Logger) (*secrets.Service, error) {
	path := cfg.SecretsKeyFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "keys", "secrets.key")
	}
	key, err := secrets.LoadKey(path, cfg.SecretsKey)
	if err != nil {
		return nil, err
	}
	if key.Created {
		log.Warn("made a new key for functions' secrets: keep a copy somewhere safe, apart from the data directory; without it no secret can be read again",
			"file", key.Source)
	} else {
		log.Info("functions' secrets are sealed with the key from " + key.Source)
	}
	return secrets.New(st, key, nil, log), nil
}
