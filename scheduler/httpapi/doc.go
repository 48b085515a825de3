// Package httpapi serves hearth's REST API under /v1, the invoke front door under /invoke and
// the dashboard under /ui, on one route table (routes.go). Each resource has its own file;
// errors.go is the one place that turns errors into HTTP statuses and the stable JSON error body.
//
// Where to read next: routes.go (every endpoint), errors.go (the status table), api (the wire
// types), scheduler/registry and scheduler/router (what the handlers call).
package httpapi
