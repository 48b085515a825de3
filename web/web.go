// Package web is the dashboard, served under /ui/ and embedded into the binary. It is plain
// HTML and JavaScript over the /v1 API: no build step, so `go build` alone makes the binary.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the dashboard under /ui/.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The embedded tree is fixed at build time; a missing folder is a build mistake.
		panic(err)
	}
	return http.StripPrefix("/ui/", http.FileServer(http.FS(sub)))
}
