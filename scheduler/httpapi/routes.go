package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Registry is what the function endpoints need.
type Registry interface {
	Deploy(ctx context.Context, name string, src io.Reader, progress func(string)) (api.Function, bool, error)
	Get(ctx context.Context, name string) (api.Function, error)
	// List and Versions answer a page (store.FunctionPage, store.VersionPage).
	List(ctx context.Context, page store.FunctionPage) ([]api.Function, error)
	Versions(ctx context.Context, name string, page store.VersionPage) ([]api.Version, error)
	Delete(ctx context.Context, name string) error
	// Configure changes a function's settings (scheduler/registry.Registry.Configure).
	Configure(ctx context.Context, name string, patch api.ConfigPatch) (api.Function, error)
}

// Invoker serves calls to functions (scheduler/router).
type Invoker interface {
	Invoke(w http.ResponseWriter, r *http.Request, function, path string)
}

// Deps are the handlers' collaborators.
type Deps struct {
	Registry Registry
	Invoker  Invoker
	// Calls serves the call records under /v1/calls; nil for none.
	Calls CallReader
	// Info reports the server's state for GET /v1/info.
	Info func(ctx context.Context) api.Info
	// UI serves the dashboard under /ui/.
	UI http.Handler
	// Logs serves GET /v1/functions/{name}/logs; nil answers no lines.
	Logs Logs
	// Metrics serves Prometheus metrics at GET /metrics; nil for none.
	Metrics http.Handler
	// MaxUploadBytes bounds a deploy's compressed upload (413 above it).
	MaxUploadBytes int64
	// Auth checks the token of every request but /healthz and calls to public functions.
	Auth Authenticator
	// Tokens serves /v1/tokens; nil for none.
	Tokens Tokens
	// Nodes serves /v1/nodes and /v1/join-tokens; nil for none.
	Nodes Nodes
	// Stats serves GET /v1/overview and GET /v1/functions/{name}/stats; nil for none.
	Stats Stats
	// Triggers serves GET /v1/functions/{name}/triggers; nil for none.
	Triggers Triggers
	// Access says which functions are public.
	Access FunctionAccess
	// Versions serves rollback and aliases (versions.go); nil for none.
	Versions Versions
	// Secrets serves /v1/functions/{name}/secrets; nil for none.
	Secrets Secrets
	// Cost serves GET /v1/functions/{name}/cost and the "cost" of a single-function GET; nil
	// for none.
	Cost Cost
	// Hosts are the host names and addresses requests to the API and dashboard may name in
	// Host and Origin (see hostCheck); nil disables that check, which only handler tests do.
	Hosts []string
	Log   *slog.Logger
}

// New returns the server's whole HTTP handler.
func New(d Deps) http.Handler {
	if d.MaxUploadBytes <= 0 {
		d.MaxUploadBytes = 64 << 20
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	h := &handlers{Deps: d}
	r := mux.NewRouter()
	// UseEncodedPath matches the path as sent: an escaped "/" in a name is not a separator.
	r.UseEncodedPath()
	r.NotFoundHandler = http.HandlerFunc(h.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(h.methodNotAllowed)

	// Full paths on the root router rather than a /v1 subrouter: with a subrouter, gorilla/mux
	// answers 404 instead of 405 for a wrong method on all but the last route (gorilla/mux#751).
	r.HandleFunc("/v1/info", h.guard(auth.ActSelf, h.info)).Methods(http.MethodGet)
	r.HandleFunc("/v1/functions", h.guard(auth.ActRead, h.listFunctions)).Methods(http.MethodGet)
	r.HandleFunc("/v1/functions/{name}", h.guard(auth.ActRead, h.getFunction)).Methods(http.MethodGet)
	r.HandleFunc("/v1/functions/{name}", h.guard(auth.ActDeploy, h.deleteFunction)).Methods(http.MethodDelete)
	r.HandleFunc("/v1/functions/{name}/versions", h.guard(auth.ActRead, h.listVersions)).Methods(http.MethodGet)
	r.HandleFunc("/v1/functions/{name}/versions", h.guard(auth.ActDeploy, h.deploy)).Methods(http.MethodPost)
	r.HandleFunc("/v1/functions/{name}/config", h.guard(auth.ActDeploy, h.configure)).Methods(http.MethodPatch)
	r.HandleFunc("/v1/functions/{name}/logs", h.guard(auth.ActReadLogs, h.logs)).Methods(http.MethodGet)
	if d.Versions != nil {
		h.versionRoutes(r)
	}
	if d.Cost != nil {
		h.costRoutes(r)
	}
	if d.Calls != nil {
		r.HandleFunc("/v1/calls", h.guard(auth.ActReadCalls, h.listCalls)).Methods(http.MethodGet)
		r.HandleFunc("/v1/calls/{id}", h.guard(auth.ActReadCalls, h.getCall)).Methods(http.MethodGet)
		r.HandleFunc("/v1/functions/{name}/calls", h.guard(auth.ActReadCalls, h.listCalls)).Methods(http.MethodGet)
	}
	if d.Triggers != nil {
		r.HandleFunc("/v1/functions/{name}/triggers", h.guard(auth.ActRead, h.listTriggers)).Methods(http.MethodGet)
	}
	if d.Stats != nil {
		r.HandleFunc("/v1/overview", h.guard(auth.ActRead, h.overview)).Methods(http.MethodGet)
		r.HandleFunc("/v1/functions/{name}/stats", h.guard(auth.ActRead, h.functionStats)).Methods(http.MethodGet)
	}
	if d.Secrets != nil {
		r.HandleFunc("/v1/functions/{name}/secrets", h.guard(auth.ActRead, h.listSecrets)).Methods(http.MethodGet)
		r.HandleFunc("/v1/functions/{name}/secrets/{key}", h.guard(auth.ActDeploy, h.putSecret)).Methods(http.MethodPut)
		r.HandleFunc("/v1/functions/{name}/secrets/{key}", h.guard(auth.ActDeploy, h.deleteSecret)).Methods(http.MethodDelete)
	}
	if d.Tokens != nil {
		r.HandleFunc("/v1/tokens", h.guard(auth.ActManageTokens, h.listTokens)).Methods(http.MethodGet)
		r.HandleFunc("/v1/tokens", h.guard(auth.ActManageTokens, h.createToken)).Methods(http.MethodPost)
		r.HandleFunc("/v1/tokens/self", h.guard(auth.ActSelf, h.selfToken)).Methods(http.MethodGet)
		r.HandleFunc("/v1/tokens/{id}", h.guard(auth.ActManageTokens, h.revokeToken)).Methods(http.MethodDelete)
	}
	if d.Nodes != nil {
		r.HandleFunc("/v1/nodes", h.guard(auth.ActReadNodes, h.listNodes)).Methods(http.MethodGet)
		r.HandleFunc("/v1/nodes/{id}", h.guard(auth.ActReadNodes, h.getNode)).Methods(http.MethodGet)
		r.HandleFunc("/v1/nodes/{id}", h.guard(auth.ActManageNodes, h.removeNode)).Methods(http.MethodDelete)
		r.HandleFunc("/v1/nodes/{id}/drain", h.guard(auth.ActManageNodes, h.drainNode(true))).Methods(http.MethodPost)
		r.HandleFunc("/v1/nodes/{id}/undrain", h.guard(auth.ActManageNodes, h.drainNode(false))).Methods(http.MethodPost)
		r.HandleFunc("/v1/join-tokens", h.guard(auth.ActManageNodes, h.listJoinTokens)).Methods(http.MethodGet)
		r.HandleFunc("/v1/join-tokens", h.guard(auth.ActManageNodes, h.createJoinToken)).Methods(http.MethodPost)
		r.HandleFunc("/v1/join-tokens/{id}", h.guard(auth.ActManageNodes, h.revokeJoinToken)).Methods(http.MethodDelete)
	}

	// Calls, any method on /invoke/{name}[/path], are served before this table: see below.

	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	if d.Metrics != nil {
		r.Handle("/metrics", h.guard(auth.ActMetrics, d.Metrics.ServeHTTP)).Methods(http.MethodGet)
	}
	if d.UI != nil {
		// The dashboard's files hold no data: the page asks for a token and sends it with its
		// /v1 requests, so the files themselves need none.
		r.PathPrefix("/ui/").Handler(d.UI)
		r.Handle("/", http.RedirectHandler("/ui/", http.StatusFound))
	}
	site := newHostCheck(d.Hosts).sameSite(r)
	// Calls skip the route table: matching every route's pattern costs more on the hot path
	// than the whole rest of hearth's routing, and /invoke/{name}/... needs no more than a cut.
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if name, rest, ok := invokeTarget(req.URL.EscapedPath()); ok {
			// NAME@ALIAS and NAME@3 are calls to NAME: its token scope and public flag decide.
			if base, _ := api.SplitTarget(name); h.mayInvoke(w, req, base) {
				h.Invoker.Invoke(w, req, name, rest)
			}
			return
		}
		if req.URL.Path == "/healthz" {
			r.ServeHTTP(w, req) // load balancers and probes name the server however they like
			return
		}
		site.ServeHTTP(w, req)
	})
}

// invokeTarget splits an escaped /invoke/{name}[/rest] path into the function's name and the
// path passed to it ("/" when there is none), both as the caller escaped them, so that %2F and
// friends reach the function as they were sent. ok is false for anything else.
func invokeTarget(escaped string) (name, rest string, ok bool) {
	tail, found := strings.CutPrefix(escaped, "/invoke/")
	if !found {
		return "", "", false
	}
	name, rest, _ = strings.Cut(tail, "/")
	if name == "" {
		return "", "", false
	}
	return name, "/" + rest, true
}

type handlers struct {
	Deps
}

func (h *handlers) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.Info(r.Context()))
}

func (h *handlers) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, api.CodeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, "")
}

func (h *handlers) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, api.CodeInvalid, r.Method+" is not allowed on "+r.URL.Path, "")
}
