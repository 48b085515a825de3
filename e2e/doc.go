// Package e2e holds the end-to-end tests: they drive the built bin/hearth (HEARTH_BIN) the way a
// user does, against a real `hearth server --dev` and the real Docker Engine. They are compiled
// only with the e2e build tag; `make test` builds the binary and runs them.
package e2e
