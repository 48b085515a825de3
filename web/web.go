// Package web is the dashboard, served under /ui/ and embedded into the binary. It is plain
// HTML, CSS and JavaScript modules over the /v1 API, with uPlot vendored for the charts: no
// build step, so `go build` alone makes the binary.
//
// Where to read next: static/README.md (the pages, the modules and the data-test hooks the
// browser tests use), docs/api.md (the endpoints the pages call).
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// csp allows the page only its own scripts and connections. Styles may be inline because
// uPlot sizes its elements with style attributes; nothing inline can run a script.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the dashboard under /ui/: index.html for /ui/, the files of static/ by path.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The embedded tree is fixed at build time; a missing folder is a build mistake.
		panic(err)
	}
	etags, err := etagsOf(sub)
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/ui/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Embedded files carry no modification time, so a browser must ask each time whether a
		// file changed (an upgraded server's pages are then used at once); the ETag, a hash of
		// the content, lets the answer be a bodiless 304 (http.FileServer checks it).
		h.Set("Cache-Control", "no-cache")
		if rest, ok := strings.CutPrefix(r.URL.Path, "/ui/"); ok {
			name := path.Clean("/" + rest)
			if name == "/" {
				name = "/index.html"
			}
			if tag, ok := etags[name]; ok {
				h.Set("ETag", tag)
			}
		}
		files.ServeHTTP(w, r)
	})
}

// etagsOf hashes every file of fsys, keyed by its path with a leading slash.
func etagsOf(fsys fs.FS) (map[string]string, error) {
	tags := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags["/"+p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return tags, err
}
