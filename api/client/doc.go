// Package client is the Go client for hearth's REST API (/v1) and its invoke front door. The
// CLI uses it, so do the node agent (registration) and the end-to-end tests. It imports only
// the standard library and package api.
//
// Every method takes a context first. Calls that answer with one JSON document get a deadline
// (see WithTimeout) on top of the caller's context; Deploy and Invoke stream, so only the
// caller's context bounds them.
//
// Errors: a non-2xx answer becomes a *Error carrying the status and the server's
// api.ErrorDetail; it matches the package's sentinels with errors.Is (ErrNotFound,
// ErrUnavailable, ...). A server that cannot be reached at all gives an error matching
// ErrUnreachable whose message says which URL was tried.
//
// Where to read next: package api (the wire types), scheduler/httpapi (the server side),
// cli (the main user of this package).
package client
