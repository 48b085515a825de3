package funcfile

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/hearthfn/hearth/api"
)

// secretsReason is what a good `secrets:` value looks like.
var secretsReason = fmt.Sprintf("must be %q (each secret a file under /run/secrets, the default) or %q (each secret an environment variable)",
	api.SecretsFiles, api.SecretsEnv)

// decodeSecrets reads `secrets:`, how instances get the secrets set with `hearth secret set`
// (docs/user/secrets.md). The values themselves never appear in func.yaml.
func decodeSecrets(d *decoded, key string, v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode || (v.Value != api.SecretsFiles && v.Value != api.SecretsEnv) {
		return fieldErr(key, "%s", secretsReason)
	}
	d.spec.SecretsAs = v.Value
	return nil
}
