package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, p string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, p, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestServesIndexWithHeaders(t *testing.T) {
	h := Handler()
	w := get(t, h, "/ui/")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /ui/ = %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
	if !strings.Contains(w.Body.String(), `<script type="module" src="js/app.js">`) {
		t.Error("index.html does not load js/app.js as a module")
	}
	for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cache-Control", "ETag"} {
		if w.Header().Get(k) == "" {
			t.Errorf("no %s header", k)
		}
	}
	// The ETag lets a reload be a 304.
	if w2 := get(t, h, "/ui/", "If-None-Match", w.Header().Get("ETag")); w2.Code != http.StatusNotModified {
		t.Errorf("GET /ui/ with its ETag = %d, want 304", w2.Code)
	}
	// Modules load only with a JavaScript content type.
	w = get(t, h, "/ui/js/app.js")
	if ct := w.Header().Get("Content-Type"); w.Code != http.StatusOK || !strings.Contains(ct, "javascript") {
		t.Errorf("GET /ui/js/app.js = %d %q", w.Code, ct)
	}
	if w := get(t, h, "/ui/nope.js"); w.Code != http.StatusNotFound {
		t.Errorf("GET /ui/nope.js = %d, want 404", w.Code)
	}
}

func sub(t *testing.T) fs.FS {
	t.Helper()
	s, err := fs.Sub(static, "static")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// scripts returns the dashboard's own JavaScript files (not the vendored ones) and their text.
func scripts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	s := sub(t)
	err := fs.WalkDir(s, "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(s, p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every import of every module, and every file index.html names, is in the embedded tree: a
// missing one would break the page only in the browser.
func TestReferencesResolve(t *testing.T) {
	s := sub(t)
	imp := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\('([^']+)'\)`)
	for p, src := range scripts(t) {
		for _, m := range imp.FindAllStringSubmatch(src, -1) {
			ref := m[1] + m[2]
			target := path.Join(path.Dir(p), ref)
			if _, err := fs.Stat(s, target); err != nil {
				t.Errorf("%s imports %s: %v", p, ref, err)
			}
		}
	}
	index, err := fs.ReadFile(s, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(string(index), -1) {
		if strings.HasPrefix(m[1], "data:") {
			continue
		}
		if _, err := fs.Stat(s, m[1]); err != nil {
			t.Errorf("index.html names %s: %v", m[1], err)
		}
	}
	// Every module but the entry point is preloaded, so that the browser fetches them all at
	// once instead of one level of imports after another.
	for p := range scripts(t) {
		if p != "js/app.js" && !strings.Contains(string(index), `<link rel="modulepreload" href="`+p+`">`) {
			t.Errorf("index.html does not preload %s", p)
		}
	}
	if _, err := fs.Stat(s, "vendor/uPlot.iife.min.js"); err != nil {
		t.Errorf("charts.js loads vendor/uPlot.iife.min.js: %v", err)
	}
}

// Data reaches the page as text only.
func TestNoHTMLFromStrings(t *testing.T) {
	bad := regexp.MustCompile(`\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
	for p, src := range scripts(t) {
		if m := bad.FindString(src); m != "" {
			t.Errorf("%s uses %s: build elements with h() and textContent instead", p, m)
		}
	}
}

// The vendored files are the release README names, unmodified.
func TestVendoredUPlotUnmodified(t *testing.T) {
	s := sub(t)
	readme, err := fs.ReadFile(s, "vendor/README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| `([0-9a-f]{64})` \\|$").FindAllStringSubmatch(string(readme), -1)
	if len(rows) != 3 {
		t.Fatalf("vendor/README.md lists %d files with sums, want 3", len(rows))
	}
	for _, r := range rows {
		b, err := fs.ReadFile(s, "vendor/"+r[1])
		if err != nil {
			t.Errorf("vendor/%s: %v", r[1], err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != r[2] {
			t.Errorf("vendor/%s has sha256 %s, README says %s", r[1], got, r[2])
		}
	}
}

// The data-test hooks the browser tests use are the ones README.md lists: every name written
// in the code is documented, and every documented name is in the code.
func TestDataTestHooksDocumented(t *testing.T) {
	s := sub(t)
	readme, err := fs.ReadFile(s, "README.md")
	if err != nil {
		t.Fatal(err)
	}
	hooks := string(readme[strings.Index(string(readme), "## `data-test` hooks"):])
	// Documented names: `name` in the hooks part, upper-case parts (NAME, ID, KEY, N) standing
	// for values.
	var documented []string
	for _, m := range regexp.MustCompile("`([a-z0-9]+(?:-[a-zA-Z0-9_]+)*)`").FindAllStringSubmatch(hooks, -1) {
		documented = append(documented, m[1])
	}
	code := strings.Join(slices.Collect(mapValues(scripts(t))), "\n")
	index, _ := fs.ReadFile(s, "index.html")
	code += string(index)

	// Names in the code: whole literals, and literal prefixes a value is added to.
	var inCode []string
	lit := regexp.MustCompile(`(?:test: |data-test=|message\([^;]*?, '(?:note|error)', )['"]([a-z][a-z0-9-]*)['"]`)
	for _, m := range lit.FindAllStringSubmatch(code, -1) {
		if !strings.HasSuffix(m[1], "-") { // a prefix: the next pattern takes it
			inCode = append(inCode, m[1])
		}
	}
	prefix := regexp.MustCompile(`(?:test: |badge\([^;]*?, )'([a-z][a-z0-9-]*-)' \+`)
	for _, m := range prefix.FindAllStringSubmatch(code, -1) {
		inCode = append(inCode, m[1]+"*")
	}
	// test: (cond ? 'a-' : 'b-') + id
	choice := regexp.MustCompile(`test: \([^?]*\? '([a-z][a-z0-9-]*-)' : '([a-z][a-z0-9-]*-)'\) \+`)
	for _, m := range choice.FindAllStringSubmatch(code, -1) {
		inCode = append(inCode, m[1]+"*", m[2]+"*")
	}
	isDocumented := func(name string) bool {
		for _, d := range documented {
			if d == name {
				return true
			}
			if p, ok := strings.CutSuffix(name, "*"); ok && strings.HasPrefix(d, p) {
				return true
			}
		}
		return false
	}
	if len(inCode) < 50 {
		t.Fatalf("found only %d data-test names in the code: the pattern is out of date", len(inCode))
	}
	for _, n := range inCode {
		if !isDocumented(n) {
			t.Errorf("data-test %q is in the code but not in README.md", strings.TrimSuffix(n, "*")+"…")
		}
	}
	// The names the design promised the browser tests.
	for _, n := range []string{"signin-token", "signin-submit", "signin-error", "overview-functions",
		"function-row-", "invoke-method", "invoke-path", "invoke-body", "invoke-submit", "invoke-status",
		"invoke-start", "invoke-body-out", "calls-table", "call-row-", "logs-lines", "config-field-",
		"config-error-", "config-save", "nodes-table", "node-drain-"} {
		if !strings.Contains(code, `'`+n) && !strings.Contains(code, "`"+n) {
			t.Errorf("data-test %q is not in the code", n)
		}
		if !slices.ContainsFunc(documented, func(d string) bool { return strings.HasPrefix(d, n) }) {
			t.Errorf("data-test %q is not documented", n)
		}
	}
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}
