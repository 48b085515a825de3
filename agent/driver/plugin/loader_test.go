package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/driver/fake"
	"github.com/hearthfn/hearth/agent/driver/nomad"
	"github.com/hearthfn/hearth/agent/driver/plugin"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/nomadtest"
	"github.com/hearthfn/hearth/internal/syncbuf"
)

// servePluginEnv, when set, makes the test binary serve a fake driver plugin instead of running
// tests: the Loader tests launch this very binary as their plugin, the way cmd/hearth re-runs its
// own executable as `hearth __driver <name>`.
const servePluginEnv = "HEARTH_PLUGIN_TEST_SERVE"

// crashID is the instance id whose Start makes the served plugin process exit on the spot.
const crashID = "crash"

func TestMain(m *testing.M) {
	if name := os.Getenv(servePluginEnv); name != "" {
		os.Exit(servePlugin(name))
	}
	os.Exit(m.Run())
}

// servePlugin is what `hearth __driver <name>` does: build the driver, serve it, log to stderr.
func servePlugin(name string) int {
	logger := plugin.NewLogger(os.Stderr, slog.LevelDebug)
	var d driver.Driver
	switch name {
	case docker.Name:
		cfg := docker.DefaultConfig()
		cfg.Logger = logger
		dd, err := docker.New(cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		d = dd
	case nomad.Name:
		nd, err := nomad.New(nomad.Config{Address: nomadtest.AgentAddr, Logger: logger})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() { _ = nd.Close() }()
		d = nd
	default:
		d = fake.New(fake.WithImages(testImage), fake.WithHook(func(_ context.Context, op fake.Op, id string) error {
			if op == fake.OpStart && id == crashID {
				os.Exit(3)
			}
			return nil
		}))
	}
	logger.Info("serving test driver", "images", 1)
	if err := plugin.Serve(name, d, logger); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// selfLoader returns a Loader that runs this test binary as the plugin, and the host's log.
func selfLoader() (*plugin.Loader, *syncbuf.Buffer) {
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return plugin.NewLoader(func(name string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		// GORACE: a race-enabled binary otherwise lingers a second at exit, on every Close.
		cmd.Env = append(os.Environ(), servePluginEnv+"="+name, "GORACE=atexit_sleep_ms=0")
		return cmd
	}, logger), logs
}

func dispense(t *testing.T, l *plugin.Loader) (driver.Driver, func()) {
	t.Helper()
	return dispenseName(t, l, "fake")
}

func dispenseName(t *testing.T, l *plugin.Loader, name string) (driver.Driver, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	d, closer, err := l.Dispense(ctx, name)
	if err != nil {
		t.Fatalf("Dispense: %v", err)
	}
	t.Cleanup(func() { _ = closer.Close() })
	return d, func() { _ = closer.Close() }
}

// TestConformanceSubprocess runs the whole suite through a real plugin process: the handshake,
// the Loader and the gRPC transport over a socket.
func TestConformanceSubprocess(t *testing.T) {
	l, _ := selfLoader()
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		d, _ := dispense(t, l)
		return d
	}, drivertest.Options{Image: testImage})
}

// TestPluginLogsReachHost checks that what the plugin logs through NewLogger arrives in the
// host's logger as a structured record at its level, tagged with the driver's name.
func TestPluginLogsReachHost(t *testing.T) {
	l, logs := selfLoader()
	_, closePlugin := dispense(t, l)
	closePlugin() // Close waits for go-plugin to drain the plugin's stderr.
	var line string
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(l, "serving test driver") {
			line = l
		}
	}
	for _, want := range []string{"level=INFO", "msg=\"serving test driver\"", "images=1", "driver=fake"} {
		if !strings.Contains(line, want) {
			t.Errorf("host log line %q lacks %s; whole log:\n%s", line, want, logs)
		}
	}
}

// TestPluginCrashIsPluginExited checks that a plugin process dying mid-call, and every call
// after, report ErrPluginExited.
func TestPluginCrashIsPluginExited(t *testing.T) {
	l, _ := selfLoader()
	d, _ := dispense(t, l)
	_, err := d.Start(t.Context(), instance.Spec{ID: crashID, Image: testImage})
	if !errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("Start that kills the plugin = %v, want ErrPluginExited", err)
	}
	if _, err := d.List(t.Context()); !errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("List after the plugin died = %v, want ErrPluginExited", err)
	}
}

func TestClosedPluginIsPluginExited(t *testing.T) {
	l, _ := selfLoader()
	d, closePlugin := dispense(t, l)
	if _, err := d.List(t.Context()); err != nil {
		t.Fatal(err)
	}
	closePlugin()
	if _, err := d.List(t.Context()); !errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("List after Close = %v, want ErrPluginExited", err)
	}
}

// TestDispenseHonoursContext checks that Dispense gives up when its ctx ends even though the
// command never completes a handshake.
func TestDispenseHonoursContext(t *testing.T) {
	// The plugin is killed, and its socket directory removed, only once the start gives up,
	// after this test: keep that directory in the test's own temp dir.
	t.Setenv("TMPDIR", t.TempDir())
	l := plugin.NewLoader(func(string) *exec.Cmd { return exec.Command("sleep", "30") }, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := l.Dispense(ctx, "fake")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dispense of a command that never shakes hands = %v, want DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Errorf("Dispense returned after %v, long after its ctx ended", waited)
	}
}

func TestDispenseOfNotAPlugin(t *testing.T) {
	l := plugin.NewLoader(func(string) *exec.Cmd { return exec.Command("true") }, nil)
	if _, _, err := l.Dispense(t.Context(), "fake"); err == nil {
		t.Error("Dispense of a command that exits at once succeeded")
	}
}

// TestSupervisedStartsADeadPluginAgain checks that the call that finds the plugin gone fails
// with ErrPluginExited, that the next call reaches a new plugin, and that after Close calls fail.
func TestSupervisedStartsADeadPluginAgain(t *testing.T) {
	l, _ := selfLoader()
	logs := &syncbuf.Buffer{}
	s, err := plugin.Supervise(t.Context(), l, "fake", slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("Supervise: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Start(t.Context(), instance.Spec{ID: crashID, Image: testImage}); !errors.Is(err, driver.ErrPluginExited) {
		t.Fatalf("Start that kills the plugin = %v, want ErrPluginExited", err)
	}
	if _, err := s.List(t.Context()); err != nil {
		t.Fatalf("List after the plugin died = %v, want the new plugin's answer", err)
	}
	if !strings.Contains(logs.String(), "started it again") {
		t.Errorf("no warning that the plugin was started again; log:\n%s", logs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(t.Context()); !errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("List after Close = %v, want ErrPluginExited", err)
	}
}
