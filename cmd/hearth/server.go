package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/plugin"
	"github.com/hearthfn/hearth/agent/instance"
	dockerbuilder "github.com/hearthfn/hearth/builder/docker"
	"github.com/hearthfn/hearth/runtimes"
	"github.com/hearthfn/hearth/scheduler/secrets"
	"github.com/hearthfn/hearth/scheduler/server"
	"github.com/hearthfn/hearth/web"
)

func newServerCmd(catalog *runtimes.Catalog) *cobra.Command {
	var (
		nodes                         nodeFlags
		addr, publicURL, dataDir      string
		dockerHost, logLevel          string
		maxBody                       = byteSize(10 << 20)
		maxUpload                     = byteSize(64 << 20)
		poolMemory                    byteSize
		logBuffer                     = byteSize(1 << 20)
		poolCPUs                      float64
		keepAlive                     keepAliveMode
		asyncQueue, asyncAttempts     int
		asyncWorkers                  int
		callRetention                 time.Duration
		acquireTimeout, shutdownGrace time.Duration
		builds                        buildFlags
		tlsCert, tlsKey               string
		allowedHosts                  []string
		callbackAllowPrivate          bool
		clusterAddr                   string
		clusterAdvertise              []string
		nodeTimeout                   time.Duration
		secretsKeyFile                string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the hearth server (with --dev: plus a node on the local Docker Engine)",
		Long: `Run the hearth server: the REST API under /v1, the invoke front door under /invoke,
the dashboard under /ui, and the store. With --dev it also runs a node agent that starts
function instances on the local Docker Engine, which is what a single machine needs. With
--driver nomad, instances run as jobs on a Nomad cluster instead (docs/operator/nomad.md). With
--cluster-addr, hearth agents on other Docker hosts join and run instances too, or alone when
neither --dev nor --driver is given (docs/operator/cluster.md). The server builds images on a
Docker Engine (--docker-host) either way, and pushes them to --registry for other hosts.

Every flag can also be set as HEARTH_<FLAG> in the environment (e.g. HEARTH_ADDR).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			driverName, err := nodes.name(clusterAddr != "")
			if err != nil {
				return err
			}
			if driverName == "nomad" && builds.registry.addr == "" {
				return errors.New("--driver nomad needs --registry HOST[:PORT]: Nomad's clients pull function images from it, and cannot see the engine the server builds on")
			}
			if clusterAddr != "" && builds.registry.addr == "" {
				return errors.New("--cluster-addr needs --registry HOST[:PORT]: agents pull function images from it, and cannot see the engine the server builds on")
			}
			if nodeTimeout < 2*time.Second {
				return fmt.Errorf("--node-timeout %s: must be at least 2s, such as 15s", nodeTimeout)
			}
			if asyncQueue < 1 || asyncAttempts < 1 || asyncWorkers < 1 {
				return fmt.Errorf("--async-queue, --async-attempts and --async-workers must each be 1 or more")
			}
			if callRetention < time.Minute {
				return fmt.Errorf("--call-retention %s: must be at least 1m, such as 168h", callRetention)
			}
			if poolCPUs < 0 {
				return fmt.Errorf("--pool-cpus %v: must be 0 (all the node has) or a positive number of CPUs such as 1.5", poolCPUs)
			}
			if (tlsCert == "") != (tlsKey == "") {
				return errors.New("--tls-cert and --tls-key go together: give both to serve HTTPS, or neither")
			}
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			if dataDir == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return fmt.Errorf("no --data-dir given and no home directory: %w", err)
				}
				dataDir = filepath.Join(home, ".hearth")
			}
			// The node id names what this server makes on a shared engine (instances, images),
			// so the builder needs it as well as the server.
			nodeID, err := server.LoadNodeID(dataDir)
			if err != nil {
				return err
			}
			// Build settings are checked before anything starts: a wrong --runtime-image is
			// the operator's to fix, not a failure of the first deploy.
			bcfg, err := builds.config(dockerHost, catalog)
			if err != nil {
				return err
			}
			// Images are labelled with the node id, and hashed with it: servers sharing an
			// engine each remove only their own.
			bcfg.Owner = nodeID
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the hearth executable to run the driver plugin: %w", err)
			}
			ctx := cmd.Context()

			// The driver runs in a plugin process, as it does on an agent: the same executable,
			// re-run as `hearth __driver docker` (or nomad). With --registry it pulls images
			// missing on its node from there, with the builder's credentials.
			var drv driver.Driver
			if driverName != "" {
				loader := plugin.NewLoader(nodes.command(exe, dockerHost, logLevel, builds.registry.driverArgs()), log)
				// Supervised: a plugin that dies is started again at the next driver call.
				dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				sup, err := plugin.Supervise(dctx, loader, driverName, log)
				cancel()
				if err != nil {
					return fmt.Errorf("start the %s driver plugin: %w", driverName, err)
				}
				defer sup.Close()
				drv = sup
			}

			b, err := dockerbuilder.New(bcfg)
			if err != nil {
				return err
			}
			defer b.Close()

			return server.Run(ctx, server.Config{
				Addr:                 addr,
				PublicURL:            publicURL,
				DataDir:              dataDir,
				NodeID:               nodeID,
				TLSCert:              tlsCert,
				TLSKey:               tlsKey,
				AllowedHosts:         allowedHosts,
				CallbackAllowPrivate: callbackAllowPrivate,
				Version:              version,
				EngineHint:           nodes.engineHint(driverName, dockerHost),
				MaxBodyBytes:         int64(maxBody),
				MaxUploadBytes:       int64(maxUpload),
				AcquireTimeout:       acquireTimeout,
				ShutdownGrace:        shutdownGrace,
				AsyncQueue:           asyncQueue,
				AsyncAttempts:        asyncAttempts,
				AsyncWorkers:         asyncWorkers,
				CallRetention:        callRetention,
				PoolCapacity:         instance.Resources{MemoryMB: int64(poolMemory) >> 20, CPUMilli: int64(poolCPUs * 1000)},
				FixedKeepAlive:       keepAlive == keepAliveFixed,
				LogBuffer:            int(logBuffer),
				ClusterAddr:          clusterAddr,
				ClusterHosts:         clusterAdvertise,
				NodeTimeout:          nodeTimeout,
				SecretsKeyFile:       secretsKeyFile,
				SecretsKey:           os.Getenv(secrets.KeyEnv),
			}, server.Deps{Driver: drv, Builder: b, UI: web.Handler(), Log: log})
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	f.StringVar(&publicURL, "public-url", "", "the URL clients reach the server at (default http://<addr>)")
	f.StringVar(&dataDir, "data-dir", "", "directory for the store and the node's state (default ~/.hearth)")
	f.StringVar(&dockerHost, "docker-host", defaultDockerHost(), "the Docker Engine to run and build on")
	f.Var(&maxBody, "max-body", "largest call body accepted (e.g. 10MiB)")
	f.Var(&maxUpload, "max-upload", "largest deploy upload accepted (e.g. 64MiB)")
	f.DurationVar(&acquireTimeout, "acquire-timeout", 60*time.Second, "how long a call may wait for an instance, cold start included")
	f.DurationVar(&shutdownGrace, "shutdown-grace", 30*time.Second, "how long calls in flight may finish at shutdown")
	f.Var(&poolMemory, "pool-memory", "memory function instances may reserve in all (e.g. 4GiB; default: all the node has)")
	f.Float64Var(&poolCPUs, "pool-cpus", 0, "CPUs function instances may reserve in all (e.g. 1.5; default: all the node has)")
	f.Var(&keepAlive, "keep-alive", "how long idle instances are kept: learned (from each function's calls, within its idle_timeout and pause_timeout) or fixed (those timeouts alone)")
	f.IntVar(&asyncQueue, "async-queue", 1000, "async calls that may be queued or running at once; past it 503 queue_full")
	f.IntVar(&asyncAttempts, "async-attempts", 3, "times an async call is tried when the platform fails it (not on a handler error)")
	f.IntVar(&asyncWorkers, "async-workers", 16, "async calls run at once (each also takes a slot of its function's pool)")
	f.DurationVar(&callRetention, "call-retention", 7*24*time.Hour, "how long finished call records are kept")
	f.Var(&logBuffer, "log-buffer", "function output kept in memory per function, for hearth logs (e.g. 1MiB; at most 10000 lines)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&tlsCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with; needs --tls-key")
	f.StringVar(&tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringSliceVar(&allowedHosts, "allowed-host", nil,
		"another host name clients may use to reach the API and dashboard, e.g. behind a reverse proxy (repeatable)")
	f.BoolVar(&callbackAllowPrivate, "callback-allow-private", false,
		"let async callbacks go to loopback, link-local, private and this server's own addresses")
	f.StringVar(&clusterAddr, "cluster-addr", "", "where hearth agents join and connect (TLS), e.g. 0.0.0.0:7947 (default: no agents)")
	f.StringSliceVar(&clusterAdvertise, "cluster-advertise", nil,
		"a host name or address agents reach --cluster-addr at, for its certificate (repeatable; the machine's own addresses are included)")
	f.DurationVar(&nodeTimeout, "node-timeout", 15*time.Second, "how long an agent may be silent before its node is down and its instances leave the pool")
	f.StringVar(&secretsKeyFile, "secrets-key-file", "",
		"file holding the key functions' secrets are encrypted with, made at the first start; keep it apart from the data directory in production (default <data-dir>/keys/secrets.key; $HEARTH_SECRETS_KEY, base64, overrides it)")
	nodes.register(f)
	builds.register(f)
	return cmd
}
