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
	"github.com/hearthfn/hearth/scheduler/nodes"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/router"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
	"github.com/hearthfn/hearth/scheduler/triggers"
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
	// FixedKeepAlive keeps instances by each function's idle_timeout and pause_timeout alone,
	// without the keep-alive the pool learns from its calls (scheduler/keepalive).
	FixedKeepAlive bool
	// LogBuffer bounds each function's kept output in bytes; zero takes the default (1 MiB),
	// a negative value keeps none.
	LogBuffer int
	// ClusterAddr, when set, is where the server listens for agents (TLS, docs/operator/
	// cluster.md); ClusterHosts are the names and addresses agents dial it at, which its
	// certificate names besides the listener's own. NodeTimeout is how long an agent may be
	// silent before its node is down (zero: 15 s).
	ClusterAddr  string
	ClusterHosts []string
	NodeTimeout  time.Duration
	// SecretsKeyFile holds the key functions' secrets are sealed with (scheduler/secrets);
	// empty for DataDir/keys/secrets.key. SecretsKey, when set, is the key itself (base64,
	// from $HEARTH_SECRETS_KEY) and the file is not read.
	SecretsKeyFile string
	SecretsKey     string
}

// Deps are the parts the server runs on.
type Deps struct {
	// Driver runs instances on the server's own node (server --dev, --driver nomad); nil for a
	// server whose instances all run on agents (ClusterAddr).
	Driver  driver.Driver
	Builder builder.Builder
	// UI serves the dashboard; nil for none.
	UI  http.Handler
	Log *slog.Logger
	// Ready, when set, receives the address the server listens on once it accepts connections.
	Ready func(addr string)
}

// Run serves until ctx ends, then drains HTTP, waits for background work and closes the store.
// Instances keep running: the next start adopts them (pool.AddNode), so an upgrade leaves the
// warm pool warm.
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

	if d.Driver == nil && cfg.ClusterAddr == "" {
		return errors.New("the server has no node to run instances on: give it a driver (--dev, --driver nomad) or let agents join (--cluster-addr)")
	}
	var local *node.Node
	if d.Driver != nil {
		local = node.New(node.Config{ID: nodeID}, d.Driver, log)
		checkEngine(ctx, local, cfg, log)
	}

	sec, err := openSecrets(st, cfg, log)
	if err != nil {
		return err
	}

	var rt *router.Router
	m := metrics.New(log)
	src := &logSource{}
	lc := logs.New(src, logs.Config{MaxBytes: cfg.LogBuffer}, log)
	defer lc.Close()
	// The logs of a version served besides the current one (pool entry "NAME@N") are NAME's.
	started := func(function, id string) { lc.Started(strings.SplitN(function, "@", 2)[0], id) }
	p := pool.New(pool.Config{OnStarted: started, OnStopped: func(id string) { rt.Forget(id); lc.Stopped(id) },
		OnPaused: lc.Paused, OnResumed: lc.Resumed,
		Observer: m, Capacity: cfg.PoolCapacity, KeepOnShutdown: true, Secrets: sec.Values,
		FixedKeepAlive: cfg.FixedKeepAlive}, log)
	sec.SetRestarter(p)
	if err := m.CollectPool(p); err != nil {
		return err
	}
	if err := m.CollectCost(p); err != nil {
		return err
	}
	mgr, err := nodes.New(ctx, nodes.Config{DataDir: cfg.DataDir, Hosts: clusterHosts(cfg), NodeTimeout: cfg.NodeTimeout},
		st, poolNodes{p}, log)
	if err != nil {
		return err
	}
	src.pool, src.nodes = p, mgr
	sc, stopStats := newStats(ctx, st, p, nodesAPI{p, mgr}, log)
	defer stopStats()
	fed := sc.Feed(st) // the dashboard's figures count the calls the store takes
	recorder := calls.NewRecorder(fed, calls.RecorderConfig{Retention: cfg.CallRetention}, log)
	callbacks := callbackGuard(ctx, cfg, ln.Addr(), log)
	runner := calls.NewRunner(fed, nil, calls.RunnerConfig{MaxQueued: cfg.AsyncQueue, Attempts: cfg.AsyncAttempts,
		Workers: cfg.AsyncWorkers, MaxResultBytes: int(cfg.MaxBodyBytes), Callback: callbacks.Client(callbackTimeout)}, log)
	rt = router.New(p, router.Config{MaxBodyBytes: cfg.MaxBodyBytes, AcquireTimeout: cfg.AcquireTimeout, Observer: m,
		Recorder: recorder, Async: runner, Calls: lc, Callbacks: callbacks}, log)
	runner.SetInvoker(rt)
	// Cron triggers fire as async calls through the runner's queue (scheduler/triggers).
	cronTriggers := triggers.New(st, runner, triggers.Config{}, log)
	reg := registry.New(registry.Config{BaseURL: cfg.PublicURL, WorkDir: filepath.Join(cfg.DataDir, "work"),
		MaxSourceBytes: cfg.MaxUploadBytes}, st, d.Builder, triggersHook{statsHook{removeHook{p, func(name string) { lc.Forget(name); m.Forget(name) }}, sc}, cronTriggers}, log)
	rt.SetAliases(reg) // NAME@ALIAS and NAME@N
	if err := reg.Restore(ctx); err != nil {
		return err
	}
	// Nodes come after the functions: a node's first listing adopts the instances of
	// functions the pool knows, and stops the others.
	if local != nil {
		if err := mgr.AddLocal(nodeID, local, nil); err != nil {
			return err
		}
	}
	var clusterLn net.Listener
	if cfg.ClusterAddr != "" {
		if clusterLn, err = net.Listen("tcp", cfg.ClusterAddr); err != nil {
			return fmt.Errorf("listen for agents on %s: %w (choose another with --cluster-addr)", cfg.ClusterAddr, err)
		}
		// The agents of the last run come back with its instances: new ones wait for them
		// (pool/grace.go), at most as long as a node may be silent.
		var back []string
		for _, v := range mgr.List(ctx) {
			if !v.Local && !v.Drained {
				back = append(back, v.ID)
			}
		}
		timeout := cfg.NodeTimeout
		if timeout <= 0 {
			timeout = 15 * time.Second
		}
		p.ExpectNodes(back, timeout)
	}

	handler := httpapi.New(httpapi.Deps{
		Registry:       reg,
		Invoker:        rt,
		Calls:          freshCalls{st, recorder},
		Info:           infoFunc(local, nodesAPI{p, mgr}, d.Builder, cfg),
		UI:             d.UI,
		Logs:           lc,
		Metrics:        m.Handler(),
		MaxUploadBytes: cfg.MaxUploadBytes,
		Auth:           tokens,
		Tokens:         tokens,
		Nodes:          nodesAPI{p, mgr},
		Stats:          sc,
		Access:         p,
		Triggers:       cronTriggers,
		Versions:       reg,
		Secrets:        sec,
		Cost:           p,
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

	stopTriggers := runTriggers(ctx, cronTriggers, log)

	tokCtx, stopTokens := context.WithCancel(context.WithoutCancel(ctx))
	tokDone := make(chan struct{})
	go func() {
		defer close(tokDone)
		tokens.Run(tokCtx)
	}()

	// The cluster listener stops after the pool: the sessions it holds are how the pool's last
	// stops reach the agents.
	clusterCtx, stopCluster := context.WithCancel(context.WithoutCancel(ctx))
	clusterDone := make(chan struct{})
	go func() {
		defer close(clusterDone)
		if clusterLn == nil {
			return
		}
		log.Info("listening for agents", "addr", clusterLn.Addr().String(), "ca_pin", mgr.PKI().Pin())
		if err := mgr.Serve(clusterCtx, clusterLn); err != nil {
			log.Error("the cluster listener stopped", "error", err)
		}
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
	stopTriggers() // before the runner: its last firings go to the store's queue
	stopRunner()
	select {
	case <-runDone:
	case <-time.After(cfg.ShutdownGrace):
		log.Warn("async calls still running at the end of the grace period; they run again after the next start")
	}
	stopPool()
	<-poolDone
	stopCluster()
	<-clusterDone
	stopRecorder()
	<-recDone
	stopTokens()
	<-tokDone
	log.Info("server stopped; its instances keep running for the next start to take back")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// removeHook is the pool as the registry sees it; removing a deleted function also drops its
// logs and its metric series.
type removeHook struct {
	registry.Pool
	onRemove func(name string)
}

func (h removeHook) Remove(name string) {
	h.Pool.Remove(name)
	if !strings.Contains(name, "@") { // an entry "NAME@N" going leaves NAME's logs
		h.onRemove(name)
	}
}

// checkEngine says at start whether the node's engine can be reached. The server runs either
// way: when the engine comes up later, calls work; until then the API answers 503 with the
// reason. What an earlier run left on the engine is the pool's to judge: its first listing of
// the node adopts the instances of current versions and stops the rest.
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
}

// infoFunc reports the server's state: with a node of its own, that node's engine; otherwise
// whether any agent's node is ready.
func infoFunc(local *node.Node, cluster nodesAPI, b builder.Builder, cfg Config) func(context.Context) api.Info {
	return func(ctx context.Context) api.Info {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		info := withBuilder(api.Info{Version: cfg.Version, Ready: true}, b.Status(ctx))
		ns, _ := cluster.List(ctx)
		info.Nodes = len(ns)
		for _, n := range ns {
			if n.State == api.NodeReady && n.Problem == "" {
				info.NodesReady++
			}
		}
		if local == nil {
			if info.NodesReady == 0 {
				info.Ready = false
				info.Problem = fmt.Sprintf("no node is ready to run instances (%d known): start hearth agent on a Docker host (docs/operator/cluster.md)", len(ns))
			}
			return info
		}
		ni, err := local.Info(ctx)
		info.Node = ni.ID
		if err != nil {
			info.Ready, info.Problem = false, err.Error()
			return info
		}
		info.Driver = ni.Driver.Name + " " + ni.Driver.Version
		return info
	}
}

// clusterHosts are the names the cluster listener's certificate must carry: its own host
// and those given.
func clusterHosts(cfg Config) []string {
	var hosts []string
	if h, _, err := net.SplitHostPort(cfg.ClusterAddr); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	return append(hosts, cfg.ClusterHosts...)
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
