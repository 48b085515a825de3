// Package funcfile reads func.yaml, the file that describes a function, into an
// api.FunctionSpec.
//
// The format follows Fn Project's func.yaml where the fields mean the same thing: "entrypoint"
// is accepted for "handler", "config" is merged into "env", "timeout" and "idle_timeout" may be a
// number of seconds, Fn's build-only keys (schema_version, format, build_image, run_image) are
// accepted and ignored, and so are Fn's http triggers (cron triggers are read: triggers.go). Any other unknown key is an error, so that a misspelt
// field is reported instead of silently falling back to a default.
//
// Parse does not fill in defaults (api.FunctionSpec.WithDefaults does, on the server), but it
// validates the spec as it will be once defaulted, so a file that parses is one the server
// accepts. Every problem is an error wrapping ErrInvalid: a *FieldError names the offending
// field, a *SyntaxError gives the line of a YAML syntax error.
//
// Where to read next: api/function.go (the spec and its defaults), docs/user/func-yaml.md.
package funcfile
