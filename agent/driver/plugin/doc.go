// Package plugin carries driver.Driver across a process boundary with hashicorp/go-plugin over
// gRPC. The hearth binary serves its built-in drivers to itself this way (`hearth __driver
// docker`), so the boundary that a third-party driver would use runs on every laptop too.
//
// Plugin side (what `hearth __driver docker` does in cmd/hearth):
//
//	logger := plugin.NewLogger(os.Stderr, slog.LevelInfo) // never stdout: it carries the handshake
//	d, err := docker.New(cfg)
//	...
//	return plugin.Serve(docker.Name, d, logger) // blocks until the host is done with it
//
// Host side:
//
//	exe, _ := os.Executable()
//	loader := plugin.NewLoader(func(name string) *exec.Cmd {
//		return exec.Command(exe, "__driver", name)
//	}, logger)
//	d, closer, err := loader.Dispense(ctx, docker.Name)
//	defer closer.Close() // kills the plugin process
//
// What crosses the boundary:
//   - every Driver method is one RPC of the Driver service in proto/driver.proto; the caller's
//     ctx deadline and cancellation reach the plugin's driver, and Logs is a server stream that
//     the host reads as an io.ReadCloser (closing it, or ending ctx, ends the stream in the
//     plugin as well); Watch (driver.Watcher, optional) is a server stream of the driver's
//     instance events, which ends with the driver's error, and a plugin whose driver cannot
//     watch, or that predates the RPC, answers Unimplemented: ErrNotSupported on the host;
//   - errors keep their text and identity through one two-way table (errors.go): each driver
//     sentinel has a gRPC code (ErrInstanceNotFound: NotFound, ErrImageNotFound:
//     FailedPrecondition, ErrNotSupported: Unimplemented, ErrUnavailable: Unavailable; ctx
//     errors: DeadlineExceeded and Canceled) and rides in an ErrorDetail, so the host tells the
//     driver's "Docker is unavailable" from a transport failure; a plugin process that died or
//     was closed surfaces as driver.ErrPluginExited; Supervised (supervise.go), which the
//     server uses, then starts the plugin again for the calls that follow;
//   - the plugin's log records, written by NewLogger's logger, reappear in the host's
//     *slog.Logger at their own level, with their attributes and a "driver" attribute.
//
// The generated code in proto/ is committed. After changing proto/driver.proto, bump
// Handshake.ProtocolVersion if the change is incompatible and regenerate with protoc 3.21 and
// protoc-gen-go v1.36 / protoc-gen-go-grpc v1.6 on PATH:
//
//	go generate ./agent/driver/plugin
//
// Where to read next: agent/driver (the contract), agent/driver/docker and agent/driver/nomad
// (the drivers served, as `hearth __driver docker` and `hearth __driver nomad`),
// agent/driver/drivertest (the suite run through this package, in memory and in a subprocess).
package plugin

//go:generate protoc -I proto --go_out=proto --go_opt=paths=source_relative --go-grpc_out=proto --go-grpc_opt=paths=source_relative proto/driver.proto
