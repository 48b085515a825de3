package instance

import (
	"fmt"
	"log/slog"
)

// How an instance gets its function's secrets (Spec.SecretsAs).
const (
	// SecretsFiles writes each secret to SecretsDir/KEY, a read-only file on a memory-backed
	// filesystem that only the instance sees. It is the default: a file is not inherited by
	// child processes nor shown by `docker inspect`, as an environment variable is.
	SecretsFiles = "files"
	// SecretsEnv sets each secret as the environment variable KEY.
	SecretsEnv = "env"
	// SecretsDir is where an instance finds its secrets in files mode.
	SecretsDir = "/run/secrets"
)

// SecretValues are an instance's secret values by key. They travel in Spec to the node's
// driver and nowhere else; the type redacts itself when printed or logged (fmt's %v and %+v,
// slog), so that a spec written to a log or an error never carries a value.
type SecretValues map[string][]byte

// String names how many secrets there are, never their keys' values.
func (s SecretValues) String() string {
	return fmt.Sprintf("[%d secrets redacted]", len(s))
}

// GoString keeps %#v from printing the values.
func (s SecretValues) GoString() string { return s.String() }

// LogValue keeps slog from printing the values.
func (s SecretValues) LogValue() slog.Value { return slog.StringValue(s.String()) }
