package api

import "time"

// Values of FunctionSpec.SecretsAs (func.yaml `secrets:`).
const (
	// SecretsFiles gives each secret to the instance as the file /run/secrets/KEY.
	SecretsFiles = "files"
	// SecretsEnv gives each secret to the instance as the environment variable KEY.
	SecretsEnv = "env"
)

// MaxSecretBytes bounds one secret's value; MaxSecretsBytes all of a function's values
// together, which travel in every instance start.
const (
	MaxSecretBytes  = 64 << 10
	MaxSecretsBytes = 1 << 20
)

// Secret is a function's secret as the API shows it: its key and when it was last set. The
// value is never in any answer.
type Secret struct {
	Key       string    `json:"key"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SecretList is the body of GET /v1/functions/{name}/secrets, sorted by key.
type SecretList struct {
	Items []Secret `json:"items"`
}
