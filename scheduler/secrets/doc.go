// Package secrets keeps functions' secrets: values set with `hearth secret set`, stored sealed
// with AES-256-GCM under a key that lives apart from the store (a file, or
// $HEARTH_SECRETS_KEY), and handed to an instance, decrypted, only when it starts.
//
// Why it is shaped so:
//   - Each value is sealed with a random nonce and with its function and key as additional
//     data, so a sealed value copied to another row (another function, another key) does not
//     open: a database row cannot be moved to leak a secret into a function that should not
//     have it.
//   - Values are decrypted per instance start (Service.Values, the pool's hook), never kept in
//     memory between starts and never part of any API answer, log line or error.
//   - Setting or removing a secret restarts the function's instances the way a deploy does
//     (pool.RestartFunction): calls in flight finish on the old instances, new calls get new
//     ones with the new values.
//
// Where to read next: scheduler/pool/secrets.go (the restart), agent/instance (Spec.Secrets),
// the drivers' delivery (agent/driver/docker/secrets.go, agent/driver/nomad/secrets.go),
// docs/user/secrets.md.
package secrets
