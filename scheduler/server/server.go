// Package server assembles the scheduler role: store, node, pool, registry, router and the HTTP
// API, and runs them until its context ends. It takes its parts ready-made (the driver, the
// builder): cmd/hearth is where implementations are chosen and flags are read.
//
// Where to read next: scheduler/httpapi (the endpoints), scheduler/pool, scheduler/registry.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/node"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/scheduler/auth"
	"github.com/hearthfn/hearth/scheduler/calls"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/logs"
	"github.com/hearthfn/hearth/scheduler/metrics"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/router"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// Config is the server's configuration; cmd/hearth fills it from flags and the environment.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:8080".
	Addr string
	// PublicURL is how clients reach the server; it defaults to http://Addr.
	PublicURL string
	// DataDir holds the store, the node's id, the first admin token and build scratch space.
	DataDir string
	// NodeID names this server's node (LoadNodeID); empty loads it from DataDir.
	NodeID string
	// TLSCert and TLSKey, when set, are PEM files: the server answers HTTPS only.
	TLSCert, TLSKey string
	// AllowedHosts are host names, besides the server's own addresses and PublicURL's host,
	// that requests to the API and dashboard may name in Host and Origin.
	AllowedHosts []string
	// CallbackAllowPrivate lets async callbacks reach loopback, link-local, private and the
	// server's own addresses.
	CallbackAllowPrivate bool
	// Version is the server's build version, reported by /v1/info.
	Version string
	// EngineHint names the engine the driver talks to ("unix:///var/run/docker.sock"), for
	// error messages.
	EngineHint string

	MaxBodyBytes   int64
	MaxUploadBytes int64
	AcquireTimeout time.Duration
	// ShutdownGrace bounds how long calls in flight may finish at shutdown.
	ShutdownGrace time.Duration
	// AsyncQueue bounds the async calls queued or running; AsyncAttempts is how many times an
	// async call is tried on infrastructure failure; AsyncWorkers how many run at once.
	AsyncQueue, AsyncAttempts, AsyncWorkers int
	// CallRetention is how long finished call records are kept.
	CallRetention time.Duration
	// PoolCapacity caps what function instances may reserve on the node in all; zero fields
	// take what the node's engine reports (all of its memory and CPUs).
	PoolCapacity instance.Resources
	// LogBuffer bounds each function's kept output in bytes; zero takes the default (1 MiB),
	// a negative value keeps none.
	LogBuffer int
}

// Deps are the parts the server runs on.
type Deps struct {
	// Driver runs instances on the server's own node (server --dev).
	Driver  driver.Driver
	Builder builder.Builder
	// UI serves the dashboard; nil for none.
	UI  http.Handler
	Log *slog.Logger
	// Ready, when set, receives the address the server listens on once it accepts connections.
	Ready func(addr string)
}

// Run serves until ctx ends, then drains HTTP, stops every instance and closes the store.
func Run(ctx context.Context, cfg Config, d Deps) error {
	log := d.Log
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	st, err := sqlstore.Open(ctx, filepath.Join(cfg.DataDir, "hearth.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	nodeID := cfg.NodeID
	if nodeID == "" {
		if nodeID, err = LoadNodeID(cfg.DataDir); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another hearth server running? choose another with --addr)", cfg.Addr, err)
	}
	tlsOn := cfg.TLSCert != ""
	if cfg.PublicURL == "" {
		scheme := "http://"
		if tlsOn {
			scheme = "https://"
		}
		cfg.PublicURL = scheme + defaultHost(ln.Addr())
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if !tlsOn && !isLoopback(ln.Addr()) {
		log.Warn("serving plain HTTP on an address other machines can reach: API tokens, function code and every call's data cross the network readable by anyone on the path; serve HTTPS with --tls-cert and --tls-key, or put a TLS-terminating reverse proxy in front and listen on 127.0.0.1",
			"addr", ln.Addr().String())
	}
	hosts, err := allowedHosts(cfg.PublicURL, ln.Addr(), cfg.AllowedHosts)
	if err != nil {
		return err
	}

	tokens := auth.NewService(st, auth.Config{}, log)
	if path, err := tokens.Bootstrap(ctx, cfg.DataDir); err != nil {
		return err
	} else if path != "" {
		log.Info("made an admin token for this first start; the CLI on this machine finds it there, and hearth token create makes others",
			"file", path)
	}

	n := node.New(node.Config{ID: nodeID}, d.Driver, log)
	checkEngine(ctx, n, cfg, log)

	var rt *router.Router
	m := metrics.New(log)
	lc := logs.New(n, logs.Config{MaxBytes: cfg.LogBuffer}, log)
	defer lc.Close()
	p := pool.New(n, pool.Config{OnStarted: lc.Started, OnStopped: func(id string) { rt.Forget(id); lc.Stopped(id) },
		Observer: m, Capacity: cfg.PoolCapacity}, log)
	if err := m.CollectPool(p); err != nil {
		return err
	}
	recorder := calls.NewRecorder(st, calls.RecorderConfig{Retention: cfg.CallRetention}, log)
	callbacks := callbackGuard(ctx, cfg, ln.Addr(), log)
	runner := calls.NewRunner(st, nil, calls.RunnerConfig{MaxQueued: cfg.AsyncQueue, Attempts: cfg.AsyncAttempts,
		Workers: cfg.AsyncWorkers, MaxResultBytes: int(cfg.MaxBodyBytes), Callback: callbacks.Client(callbackTimeout)}, log)
	rt = router.New(p, router.Config{MaxBodyBytes: cfg.MaxBodyBytes, AcquireTimeout: cfg.AcquireTimeout, Observer: m,
		Recorder: recorder, Async: runner, Calls: lc, Callbacks: callbacks}, log)
	runner.SetInvoker(rt)
	reg := registry.New(registry.Config{BaseURL: cfg.PublicURL, WorkDir: filepath.Join(cfg.DataDir, "work"),
		MaxSourceBytes: cfg.MaxUploadBytes}, st, d.Builder, removeHook{p, lc.Forget}, log)
	if err := reg.Restore(ctx); err != nil {
		return err
	}

	handler := httpapi.New(httpapi.Deps{
		Registry:       reg,
		Invoker:        rt,
		Calls:          st,
		Info:           infoFunc(n, d.Builder, cfg),
		UI:             d.UI,
		Logs:           lc,
		Metrics:        m.Handler(),
		MaxUploadBytes: cfg.MaxUploadBytes,
		Auth:           tokens,
		Tokens:         tokens,
		Access:         p,
		Hosts:          hosts,
		Log:            log,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	srv.RegisterOnShutdown(lc.Close) // ends `hearth logs -f` answers, which never end on their own

	// Background work stops in order at shutdown: HTTP drains, then the registry's image
	// removals, the async runner (its calls need the pool), the pool, then the recorder (it
	// stores the last records).
	recCtx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		_ = recorder.Run(recCtx)
	}()
	runCtx, stopRunner := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		if err := runner.Run(runCtx); err != nil {
			log.Error("async calls will not run", "error", err)
		}
	}()

	poolCtx, stopPool := context.WithCancel(context.WithoutCancel(ctx))
	poolDone := make(chan struct{})
	go func() {
		defer close(poolDone)
		_ = p.Run(poolCtx)
	}()

	// The registry removes deleted functions' images in the background, and at start those of
	// functions deleted when a removal could not finish; it stops once HTTP has drained.
	regCtx, stopRegistry := context.WithCancel(context.WithoutCancel(ctx))
	regDone := make(chan struct{})
	go func() {
		defer close(regDone)
		_ = reg.Run(regCtx)
	}()

	tokCtx, stopTokens := context.WithCancel(context.WithoutCancel(ctx))
	tokDone := make(chan struct{})
	go func() {
		defer close(tokDone)
		tokens.Run(tokCtx)
	}()

	serveErr := make(chan error, 1)
	go func() {
		if tlsOn {
			serveErr <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
			return
		}
		serveErr <- srv.Serve(ln)
	}()
	log.Info("hearth server listening", "url", cfg.PublicURL, "node", nodeID, "data_dir", cfg.DataDir)
	if d.Ready != nil {
		d.Ready(ln.Addr().String())
	}

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down: draining calls in flight", "grace", cfg.ShutdownGrace)
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopRegistry()
	<-regDone
	stopRunner()
	select {
	case <-runDone:
	case <-time.After(cfg.ShutdownGrace):
		log.Warn("async calls still running at the end of the grace period; they run again after the next start")
	}
	stopPool()
	<-poolDone
	stopRecorder()
	<-recDone
	stopTokens()
	<-tokDone
	log.Info("server stopped; all instances removed")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// removeHook is the pool as the registry sees it; removing a deleted function also drops its
// logs.
type removeHook struct {
	registry.Pool
	onRemove func(name string)
}

func (h removeHook) Remove(name string) {
	h.Pool.Remove(name)
	h.onRemove(name)
}

// checkEngine says at start whether the node's engine can be reached, and removes what an
// earlier run of this node left behind. The server runs either way: when the engine comes up
// later, calls work; until then the API answers 503 with the reason.
func checkEngine(ctx context.Context, n *node.Node, cfg Config, log *slog.Logger) {
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := n.Info(ictx)
	if err != nil {
		log.Error("the container engine is not reachable: deploy and invoke will answer 503 until it is; start Docker (scripts/docker.sh) and the server picks it up",
			"engine", cfg.EngineHint, "error", err)
		return
	}
	log.Info("container engine ready", "driver", info.Driver.Name, "version", info.Driver.Version)
	removed, err := n.Reconcile(ictx)
	if err != nil {
		log.Error("could not remove leftover instances", "error", err)
	} else if removed > 0 {
		log.Info("removed leftover instances of an earlier run", "count", removed)
	}
}

func infoFunc(n *node.Node, b builder.Builder, cfg Config) func(context.Context) api.Info {
	return func(ctx context.Context) api.Info {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		info := withBuilder(api.Info{Version: cfg.Version, Ready: true}, b.Status(ctx))
		ni, err := n.Info(ctx)
		info.Node = ni.ID
		if err != nil {
			info.Ready, info.Problem = false, err.Error()
			return info
		}
		info.Driver = ni.Driver.Name + " " + ni.Driver.Version
		return info
	}
}

// LoadNodeID returns this data directory's node id, creating it on first use. Keeping it across
// restarts lets the node recognise, and remove, instances a killed server left behind.
func LoadNodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	host, _ := os.Hostname()
	id := "node-" + hex.EncodeToString(r[:])
	if host != "" {
		id = strings.ToLower(host) + "-" + hex.EncodeToString(r[:])
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("save node id: %w", err)
	}
	return id, nil
}
