// Package api holds the wire types of hearth's REST API (/v1) and of the invoke front door. It
// imports only the standard library and runtimes/contract (for the one error shape), so that the
// CLI, the Go client (api/client), the scheduler and tests all share one definition.
//
// Where to read next: api/client (the Go client), scheduler/httpapi (the server side),
// docs/api.md (the endpoints).
package api
