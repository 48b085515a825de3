// Package cli is hearth's fn-style command line: init, deploy, invoke, list, inspect, config,
// delete and version, talking to a hearth server through api/client.
//
// The tree is built without global state: NewRoot takes an Options value carrying the
// standard streams, the environment (Getenv), the version and the few dependencies that live
// in other packages (the runtime catalog for init, func.yaml parsing and source packing for
// deploy), so tests run every command in-process against an httptest server. Execute runs a
// root and turns its outcome into an exit code; cmd/hearth adds the server and agent commands
// to the same root before calling it.
//
// Errors: commands return errors and never print them; Execute prints exactly one
// "Error: ..." line, plus the command's usage when the arguments or flags were wrong.
//
// Each verb lives in its own file (init.go, deploy.go, ...); shared plumbing is in root.go
// (Options, the app value commands share) and execute.go (exit codes, error printing).
//
// Where to read next: api/client (the HTTP calls), cli/output (tables and JSON).
package cli
