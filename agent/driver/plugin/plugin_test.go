package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/driver/fake"
	"github.com/hearthfn/hearth/agent/driver/plugin"
	"github.com/hearthfn/hearth/agent/instance"
)

const testImage = "hearth-test/fake:1"

// connect serves impl over an in-memory go-plugin gRPC connection and returns the host side,
// which is what Loader.Dispense returns, minus the process.
func connect(t *testing.T, impl driver.Driver) (driver.Driver, *goplugin.GRPCServer) {
	t.Helper()
	c, s := goplugin.TestPluginGRPCConn(t, false, plugin.PluginSet("fake", impl))
	// Close asks the server to stop through go-plugin's controller, as Kill does for a process.
	t.Cleanup(func() { _ = c.Close() })
	raw, err := c.Dispense("fake")
	if err != nil {
		t.Fatalf("Dispense: %v", err)
	}
	return raw.(driver.Driver), s
}

func newFake(t *testing.T, opts ...fake.Option) *fake.Driver {
	d := fake.New(append([]fake.Option{fake.WithImages(testImage)}, opts...)...)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestConformanceInMemory(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		d, _ := connect(t, newFake(t))
		return d
	}, drivertest.Options{Image: testImage})
}

func TestConformanceInMemoryWithoutCapabilities(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		d, _ := connect(t, newFake(t, fake.WithCapabilities(driver.Capabilities{})))
		return d
	}, drivertest.Options{Image: testImage})
}

// TestErrorsCrossTheBoundary checks that an error the plugin's driver returns reaches the host
// with its text and its identity.
func TestErrorsCrossTheBoundary(t *testing.T) {
	f := newFake(t)
	d, _ := connect(t, f)
	f.SetHook(func(_ context.Context, op fake.Op, _ string) error {
		if op == fake.OpList {
			return fmt.Errorf("cannot reach Docker at unix:///nowhere.sock: %w", driver.ErrUnavailable)
		}
		return nil
	})
	_, err := d.List(t.Context())
	if !errors.Is(err, driver.ErrUnavailable) || errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("List = %v, want ErrUnavailable only", err)
	}
	if want := "cannot reach Docker at unix:///nowhere.sock: driver engine unavailable"; err == nil || err.Error() != want {
		t.Errorf("List error text = %q, want %q", err, want)
	}
}

// TestDeadlineReachesPlugin checks that the caller's deadline is the plugin's deadline.
func TestDeadlineReachesPlugin(t *testing.T) {
	f := newFake(t)
	d, _ := connect(t, f)
	sawDone := make(chan error, 1)
	f.SetHook(func(ctx context.Context, _ fake.Op, _ string) error {
		<-ctx.Done()
		sawDone <- ctx.Err()
		return ctx.Err()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := d.Fingerprint(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Fingerprint = %v, want DeadlineExceeded", err)
	}
	select {
	case err := <-sawDone:
		if err == nil {
			t.Error("plugin side saw no ctx error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the plugin side's ctx never ended")
	}
}

// logsProbe records when the ctx the plugin side's Logs got ends.
type logsProbe struct {
	driver.Driver
	ended chan struct{}
}

func (p *logsProbe) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	rc, err := p.Driver.Logs(ctx, id, opts)
	if err == nil {
		context.AfterFunc(ctx, func() { close(p.ended) })
	}
	return rc, err
}

// TestLogsEndReachesPlugin checks both ways a host ends a log stream (cancelling its ctx,
// closing the reader) end the stream inside the plugin too.
func TestLogsEndReachesPlugin(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			f := newFake(t)
			probe := &logsProbe{Driver: f, ended: make(chan struct{})}
			d, _ := connect(t, probe)
			if _, err := d.Start(t.Context(), instance.Spec{ID: "a", Image: testImage}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			rc, err := d.Logs(ctx, "a", driver.LogOptions{Follow: true})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 256)
			if n, err := rc.Read(buf); err != nil || n == 0 {
				t.Fatalf("first Read = %d, %v", n, err)
			}
			readErr := make(chan error, 1)
			go func() {
				_, err := io.ReadAll(rc)
				readErr <- err
			}()
			if how == "cancel" {
				cancel()
			} else {
				_ = rc.Close()
			}
			select {
			case <-probe.ended:
			case <-time.After(10 * time.Second):
				t.Fatal("the plugin side's Logs ctx did not end")
			}
			select {
			case err := <-readErr:
				if err == nil || errors.Is(err, driver.ErrPluginExited) {
					t.Errorf("Read after %s = %v, want a cancellation or closed-reader error", how, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Read did not return")
			}
			_ = rc.Close()
		})
	}
}

// TestServerGoneIsPluginExited checks that calls on a connection whose server went away report
// ErrPluginExited, which tells the caller to dispense again.
func TestServerGoneIsPluginExited(t *testing.T) {
	d, s := connect(t, newFake(t))
	if _, err := d.List(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if _, err := d.List(t.Context()); !errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("List after the server stopped = %v, want ErrPluginExited", err)
	}
}

func TestServeRefusesWithoutHandshake(t *testing.T) {
	t.Setenv(plugin.Handshake.MagicCookieKey, "")
	err := plugin.Serve("fake", fake.New(), nil)
	if !errors.Is(err, plugin.ErrNotPluginProcess) {
		t.Errorf("Serve without the handshake cookie = %v, want ErrNotPluginProcess", err)
	}
}

// TestSecurityReachesPlugin checks that the driver behind the boundary is asked to confine an
// instance as the host said.
func TestSecurityReachesPlugin(t *testing.T) {
	f := newFake(t)
	d, _ := connect(t, f)
	sec := instance.Security{User: "root", TmpSizeMB: 16, PidsLimit: 64, NoFile: 128,
		CapAdd: []string{"NET_BIND_SERVICE"}, Network: instance.NetworkNone}
	if _, err := d.Start(t.Context(), instance.Spec{ID: "sec", Image: testImage, Security: sec}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(context.Background(), "sec", time.Second) })
	got, ok := f.Spec("sec")
	if !ok || !reflect.DeepEqual(got.Security, sec) {
		t.Errorf("the plugin's driver got security %+v, want %+v", got.Security, sec)
	}
}
