package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/fake"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/node"
	"github.com/hearthfn/hearth/runtimes/contract"
)

const testImage = "hearth/hello:3f2a"

func newFake(t *testing.T, opts ...fake.Option) *fake.Driver {
	t.Helper()
	d := fake.New(append([]fake.Option{fake.WithImages(testImage)}, opts...)...)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func newNode(t *testing.T, id string, d driver.Driver) *node.Node {
	t.Helper()
	return node.New(node.Config{ID: id, StopGrace: time.Second}, d, slog.New(slog.NewTextHandler(t.Output(), nil)))
}

func spec(id string) instance.Spec {
	return instance.Spec{ID: id, Function: "hello", Version: 1, Image: testImage}
}

// readyAfter is a handler whose GET /_/ready answers 503 to the first n probes and 200 after;
// probes counts them.
func readyAfter(n int32, probes *atomic.Int32) func(instance.Spec) http.Handler {
	return func(instance.Spec) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != contract.ReadyPath {
				http.Error(w, "unexpected request "+r.Method+" "+r.URL.Path, http.StatusTeapot)
				return
			}
			if probes.Add(1) <= n {
				http.Error(w, "warming up", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok")
		})
	}
}

func ids(sts []instance.Status) []string {
	out := make([]string, 0, len(sts))
	for _, st := range sts {
		out = append(out, st.Instance.ID)
	}
	slices.Sort(out)
	return out
}

func listIDs(t *testing.T, d driver.Driver) []string {
	t.Helper()
	all, err := d.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return ids(all)
}

func TestStartInstanceLabelsAndWaitsUntilReady(t *testing.T) {
	var probes atomic.Int32
	d := newFake(t, fake.WithHandler(readyAfter(3, &probes)))
	n := newNode(t, "node-1", d)

	sp := instance.Spec{ID: "i1", Function: "hello", Version: 7, Image: testImage,
		Labels: map[string]string{
			"team":                 "web",
			instance.LabelNode:     "someone-else", // the node's own labels win
			instance.LabelFunction: "spoofed",
		}}
	callerLabels := maps.Clone(sp.Labels)
	in, err := n.StartInstance(t.Context(), sp)
	if err != nil {
		t.Fatalf("StartInstance: %v", err)
	}
	if got := probes.Load(); got != 4 {
		t.Errorf("ready probes = %d, want 4 (three 503s, then the 200)", got)
	}
	if in.ID != "i1" || in.Endpoint == "" {
		t.Errorf("instance = %+v, want id i1 with an endpoint", in)
	}

	started, ok := d.Spec("i1")
	if !ok {
		t.Fatal("the driver has no instance i1")
	}
	want := map[string]string{
		"team":                 "web",
		instance.LabelOwner:    instance.OwnerValue,
		instance.LabelNode:     "node-1",
		instance.LabelFunction: "hello",
		instance.LabelVersion:  "7",
		instance.LabelInstance: "i1",
	}
	if !reflect.DeepEqual(started.Labels, want) {
		t.Errorf("labels = %v, want %v", started.Labels, want)
	}
	if started.Port != contract.DefaultPort {
		t.Errorf("port = %d, want the contract's default %d", started.Port, contract.DefaultPort)
	}
	if !reflect.DeepEqual(sp.Labels, callerLabels) {
		t.Errorf("the caller's label map was changed to %v", sp.Labels)
	}
}

func TestStartInstanceKeepsAnExplicitPort(t *testing.T) {
	d := newFake(t)
	n := newNode(t, "node-1", d)
	sp := spec("i1")
	sp.Port = 9000
	if _, err := n.StartInstance(t.Context(), sp); err != nil {
		t.Fatal(err)
	}
	if started, _ := d.Spec("i1"); started.Port != 9000 {
		t.Errorf("port = %d, want 9000", started.Port)
	}
}

func TestStartInstanceNeverReady(t *testing.T) {
	var probes atomic.Int32
	d := newFake(t, fake.WithHandler(readyAfter(1<<30, &probes)))
	n := newNode(t, "node-1", d)

	const deadline = 300 * time.Millisecond
	begin := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	_, err := n.StartInstance(ctx, spec("i1"))
	elapsed := time.Since(begin)

	if !errors.Is(err, agent.ErrNotReady) {
		t.Fatalf("StartInstance = %v, want an error wrapping agent.ErrNotReady", err)
	}
	if !strings.Contains(err.Error(), "i1") {
		t.Errorf("error %q does not name the instance", err)
	}
	if elapsed < deadline {
		t.Errorf("gave up after %v, before the %v deadline", elapsed, deadline)
	}
	if probes.Load() < 2 {
		t.Errorf("probed %d times, want it to keep probing until the deadline", probes.Load())
	}
	if left := listIDs(t, d); len(left) != 0 {
		t.Errorf("instances left behind: %v", left)
	}
	if c := d.Counts(); c.Starts != 1 || c.Stops != 1 {
		t.Errorf("Counts = %+v, want one start and one stop", c)
	}
}

func TestStartInstanceExitsBeforeReady(t *testing.T) {
	var (
		d    *fake.Driver
		once sync.Once
	)
	d = newFake(t, fake.WithHandler(func(sp instance.Spec) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			// The process dies right after its first, failed, probe.
			once.Do(func() { go func() { _ = d.Exit(sp.ID, 3, "crashed") }() })
			http.Error(w, "starting", http.StatusServiceUnavailable)
		})
	}))
	n := newNode(t, "node-1", d)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	begin := time.Now()
	_, err := n.StartInstance(ctx, spec("i1"))
	elapsed := time.Since(begin)

	if !errors.Is(err, agent.ErrNotReady) {
		t.Fatalf("StartInstance = %v, want an error wrapping agent.ErrNotReady", err)
	}
	if !strings.Contains(err.Error(), "exited with code 3 before it was ready") {
		t.Errorf("error %q does not give the exit code", err)
	}
	if ctx.Err() != nil || elapsed > 5*time.Second {
		t.Errorf("took %v (ctx %v): an exited instance must fail long before the deadline", elapsed, ctx.Err())
	}
	if left := listIDs(t, d); len(left) != 0 {
		t.Errorf("instances left behind: %v", left)
	}
	if c := d.Counts(); c.Stops != 1 {
		t.Errorf("Counts = %+v, want the exited instance removed", c)
	}
}

func TestStartInstanceImage(t *testing.T) {
	errRegistry := fmt.Errorf("pull: registry says no: %w", driver.ErrImageNotFound)
	for _, tt := range []struct {
		name    string
		opts    []fake.Option
		wantErr error
		pulls   int
	}{
		{"present", []fake.Option{fake.WithImages("other:1")}, nil, 0},
		{"pulled", []fake.Option{fake.WithPull(func(context.Context, string) error { return nil })}, nil, 1},
		{"not found", nil, driver.ErrImageNotFound, 0},
		{"pull fails", []fake.Option{fake.WithPull(func(context.Context, string) error { return errRegistry })},
			driver.ErrImageNotFound, 0},
		{"engine down", []fake.Option{fake.WithHook(func(_ context.Context, op fake.Op, _ string) error {
			if op == fake.OpEnsureImage {
				return fmt.Errorf("docker: %w", driver.ErrUnavailable)
			}
			return nil
		})}, driver.ErrUnavailable, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := fake.New(tt.opts...)
			t.Cleanup(func() { _ = d.Close() })
			n := newNode(t, "node-1", d)
			sp := spec("i1")
			sp.Image = "other:1"
			_, err := n.StartInstance(t.Context(), sp)

			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("StartInstance = %v, want %v", err, tt.wantErr)
			}
			wantStarts := 1
			if tt.wantErr != nil {
				wantStarts = 0
				if !strings.Contains(err.Error(), "other:1") {
					t.Errorf("error %q does not name the image", err)
				}
			}
			if c := d.Counts(); c.Starts != wantStarts || c.Pulls != tt.pulls {
				t.Errorf("Counts = %+v, want %d starts and %d pulls", c, wantStarts, tt.pulls)
			}
		})
	}
}

func TestStartInstanceStartFails(t *testing.T) {
	d := newFake(t, fake.WithHook(func(_ context.Context, op fake.Op, _ string) error {
		if op == fake.OpStart {
			return fmt.Errorf("docker: %w", driver.ErrUnavailable)
		}
		return nil
	}))
	n := newNode(t, "node-1", d)
	if _, err := n.StartInstance(t.Context(), spec("i1")); !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("StartInstance = %v, want driver.ErrUnavailable", err)
	}
	if c := d.Counts(); c.Starts != 0 || c.Stops != 0 {
		t.Errorf("Counts = %+v, want nothing started or stopped", c)
	}
}

func TestStopInstance(t *testing.T) {
	d := newFake(t)
	n := newNode(t, "node-1", d)
	if _, err := n.StartInstance(t.Context(), spec("i1")); err != nil {
		t.Fatal(err)
	}

	if err := n.StopInstance(t.Context(), "unknown"); err != nil {
		t.Errorf("StopInstance(unknown) = %v, want nil", err)
	}
	if err := n.StopInstance(t.Context(), "i1"); err != nil {
		t.Fatalf("StopInstance(i1) = %v", err)
	}
	if left := listIDs(t, d); len(left) != 0 {
		t.Errorf("instances left after stop: %v", left)
	}
	if err := n.StopInstance(t.Context(), "i1"); err != nil {
		t.Errorf("second StopInstance(i1) = %v, want nil", err)
	}
	if c := d.Counts(); c.Stops != 1 {
		t.Errorf("Counts = %+v, want one stop", c)
	}

	d.SetHook(func(_ context.Context, op fake.Op, _ string) error {
		if op == fake.OpStop {
			return fmt.Errorf("docker: %w", driver.ErrUnavailable)
		}
		return nil
	})
	if err := n.StopInstance(t.Context(), "i2"); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("StopInstance with the engine down = %v, want driver.ErrUnavailable", err)
	}
}

// twoNodes starts a1 and a2 through node "n1", b1 through node "n2" and "stray" straight on the
// shared driver, with no node label.
func twoNodes(t *testing.T) (d *fake.Driver, n1, n2 *node.Node) {
	t.Helper()
	d = newFake(t)
	n1, n2 = newNode(t, "n1", d), newNode(t, "n2", d)
	for _, s := range []struct {
		n  *node.Node
		id string
	}{{n1, "a1"}, {n1, "a2"}, {n2, "b1"}} {
		if _, err := s.n.StartInstance(t.Context(), spec(s.id)); err != nil {
			t.Fatalf("start %s: %v", s.id, err)
		}
	}
	if _, err := d.Start(t.Context(), spec("stray")); err != nil {
		t.Fatal(err)
	}
	return d, n1, n2
}

func TestInstancesListsOnlyThisNodes(t *testing.T) {
	_, n1, n2 := twoNodes(t)
	for _, tt := range []struct {
		n    *node.Node
		want []string
	}{{n1, []string{"a1", "a2"}}, {n2, []string{"b1"}}} {
		got, err := tt.n.Instances(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids(got), tt.want) {
			t.Errorf("Instances = %v, want %v", ids(got), tt.want)
		}
		for _, st := range got {
			if st.State != instance.StateRunning || st.Function != "hello" {
				t.Errorf("status %+v, want a running instance of hello", st)
			}
		}
	}
}

func TestInfo(t *testing.T) {
	d := newFake(t, fake.WithName("fake-x"), fake.WithAllocatable(instance.Resources{MemoryMB: 512, CPUMilli: 1500}))
	n := newNode(t, "node-1", d)
	want, err := d.Fingerprint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	info, err := n.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "node-1" || !reflect.DeepEqual(info.Driver, want) {
		t.Errorf("Info = %+v, want id node-1 and driver %+v", info, want)
	}

	d.SetHook(func(_ context.Context, op fake.Op, _ string) error {
		if op == fake.OpFingerprint {
			return fmt.Errorf("docker: %w", driver.ErrUnavailable)
		}
		return nil
	})
	info, err = n.Info(t.Context())
	if !errors.Is(err, driver.ErrUnavailable) || info.ID != "node-1" {
		t.Errorf("Info with the engine down = %+v, %v; want the id and driver.ErrUnavailable", info, err)
	}
}

func TestPassThroughs(t *testing.T) {
	d := newFake(t)
	n := newNode(t, "node-1", d)
	if _, err := n.StartInstance(t.Context(), spec("i1")); err != nil {
		t.Fatal(err)
	}
	if err := n.PauseInstance(t.Context(), "i1"); err != nil {
		t.Errorf("PauseInstance: %v", err)
	}
	if err := n.ResumeInstance(t.Context(), "i1"); err != nil {
		t.Errorf("ResumeInstance: %v", err)
	}
	if c := d.Counts(); c.Pauses != 1 || c.Resumes != 1 {
		t.Errorf("Counts = %+v, want one pause and one resume", c)
	}
	if err := n.PauseInstance(t.Context(), "nope"); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("PauseInstance(nope) = %v, want driver.ErrInstanceNotFound", err)
	}
	rc, err := n.Logs(t.Context(), "i1", driver.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	out, _ := io.ReadAll(rc)
	if !strings.Contains(string(out), contract.ReadyPath) {
		t.Errorf("logs %q do not show the ready probe", out)
	}
}
