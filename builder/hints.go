package builder

import (
	"errors"
	"regexp"
)

// OfflineDoc is the page that explains how to build each runtime without a network; hints
// link to it.
const OfflineDoc = "docs/user/offline-builds.md"

// downloadFailure is one tool's way of saying that it could not fetch a dependency.
type downloadFailure struct {
	tool string
	re   *regexp.Regexp
}

// downloadFailures are matched against the failing step's log, in order. They name failures to
// reach or find a dependency, not every failure of the tool: a compile error must not earn a
// hint about vendoring.
var downloadFailures = []downloadFailure{
	// Go builds run with GOPROXY=off: a module that is not vendored is "looked up" and refused.
	{"go", regexp.MustCompile(`module lookup disabled by GOPROXY=off|no required module provides package|` +
		`cannot find module providing package|proxy\.golang\.org.*(dial tcp|i/o timeout|no such host)`)},
	{"pip", regexp.MustCompile(`Could not find a version that satisfies the requirement|No matching distribution found for|` +
		`Failed to establish a new connection|Temporary failure in name resolution|ConnectTimeoutError|ReadTimeoutError`)},
	{"npm", regexp.MustCompile(`\b(ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNREFUSED|ECONNRESET)\b|npm ERR! network`)},
	{"maven", regexp.MustCompile(`Could not resolve dependencies|Could not transfer artifact|Could not resolve plugin`)},
}

// offlineHints say, per runtime, what works today to build without downloads (see each
// runtime's Dockerfile.tmpl): Go's vendor/ folder, Python's wheels/ or vendor/ folder, Node's
// uploaded node_modules, Java's lib/ jars. The docker runtime is the user's own Dockerfile, so
// its hint can only say where the dependencies should come from.
var offlineHints = map[string]string{
	"go": "hint: builds are offline (GOPROXY=off), so a Go function's dependencies must be vendored: " +
		"run `go mod vendor` in the function's directory and deploy again (see " + OfflineDoc + ")",
	"python": "hint: pip could not get a requirement from a package index. To build without one, put the wheels of " +
		"every requirement (and of their dependencies) in wheels/ beside requirements.txt, e.g. " +
		"`pip download -r requirements.txt -d wheels` on a machine that can reach the index; pip then " +
		"installs from wheels/ (and vendor/) only (see " + OfflineDoc + ")",
	"node": "hint: npm could not reach its registry. To build without it, install the dependencies here " +
		"(`npm ci --omit=dev`) and upload node_modules with the function (remove node_modules/ from " +
		".hearthignore): the build then uses it as it is and does not run npm (see " + OfflineDoc + ")",
	"java": "hint: Java builds download nothing and Maven builds are not supported: put the dependency jars in " +
		"lib/ (every lib/*.jar is on the class path) (see " + OfflineDoc + ")",
	"docker": "hint: the build could not download a dependency. Keep the dependencies in the function's " +
		"directory and have the Dockerfile install them from there (see " + OfflineDoc + ")",
}

// OfflineHint returns what to do when the log of a failed build step shows that a dependency
// could not be downloaded, or "" when it shows no such failure. runtime is the function's
// runtime; the advice is that runtime's way to build offline.
func OfflineHint(runtime string, log []string) string {
	hint, ok := offlineHints[runtime]
	if !ok {
		return ""
	}
	for _, line := range log {
		for _, f := range downloadFailures {
			if f.re.MatchString(line) {
				return hint
			}
		}
	}
	return ""
}

// HintError is a build error with advice for the user (e.g. OfflineHint's). Its message is the
// error's followed by the hint on a line of its own, so that clients that know nothing of hints
// still show it.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() + "\n" + e.Hint }
func (e *HintError) Unwrap() error { return e.Err }

// HintOf returns the hint err carries (a *HintError in its chain), or "".
func HintOf(err error) string {
	var he *HintError
	if errors.As(err, &he) {
		return he.Hint
	}
	return ""
}
