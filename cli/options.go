package cli

import (
	"io"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// DefaultAPI is the server the CLI talks to when neither --api nor HEARTH_API says otherwise.
const DefaultAPI = "http://127.0.0.1:8080"

// Options is everything the command tree takes from its surroundings. Every field may be left
// zero: the streams then discard, the environment is empty, and the dependencies default to
// the real ones (the embedded runtime catalog, funcfile.Parse) except PackDir, without which
// deploy reports that it is unavailable.
type Options struct {
	// Stdout receives results: tables, JSON, a function's response body.
	Stdout io.Writer
	// Stderr receives progress (build logs) and notes; errors are printed there by Execute.
	Stderr io.Writer
	// Stdin is read by invoke as the request body when it is not a terminal. An *os.File is
	// checked with Stat; any other non-nil reader counts as piped input.
	Stdin io.Reader
	// Getenv reads the environment (HEARTH_API, HEARTH_TOKEN, HEARTH_DATA_DIR). Nil means an
	// empty environment.
	Getenv func(key string) string
	// HomeDir is the user's home directory, where a local server keeps its admin token
	// (~/.hearth/admin-token); empty means none.
	HomeDir string
	// ConfigDir is the user's config directory (os.UserConfigDir), where hearth login saves
	// tokens (hearth/credentials.json); empty means none.
	ConfigDir string
	// Version is the CLI's own version, shown by "hearth version".
	Version string
	// Dir is the directory relative paths (init's NAME, deploy's --dir, invoke's --file) are
	// resolved against. Empty means the process's working directory.
	Dir string
	// Now tells the time, for ages in tables. Nil means time.Now.
	Now func() time.Time
	// HTTPClient, when set, carries every request to the server instead of the API client's
	// default (tests pass an httptest server's client).
	HTTPClient *http.Client

	// Runtimes is the runtime catalog init writes scaffolds from. Nil means the embedded
	// catalog (CatalogRuntimes(runtimes.New())).
	Runtimes RuntimeCatalog
	// ParseFuncFile parses and validates a func.yaml; deploy uses it to reject a bad file
	// before uploading anything. Nil means funcfile.Parse.
	ParseFuncFile func(data []byte) (api.FunctionSpec, error)
	// PackDir writes dir, minus what its .hearthignore excludes, to w as a gzip-compressed tar
	// (builder/buildctx.PackDir).
	PackDir func(w io.Writer, dir string) error
}

// RuntimeCatalog is what init needs from the runtime catalog (package runtimes).
type RuntimeCatalog interface {
	// Names lists the known runtimes, sorted.
	Names() []string
	// WriteScaffold writes the starter files of the named runtime for a function called
	// function into dir, which exists and is empty. The function name has already passed
	// funcfile.ValidateName.
	WriteScaffold(runtime, function, dir string) error
}

// withDefaults fills the zero fields of o that have a harmless default.
func (o Options) withDefaults() Options {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ParseFuncFile == nil {
		o.ParseFuncFile = funcfile.Parse
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	return o
}
