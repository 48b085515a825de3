package drivertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// LabelTest is put on every instance the suite starts, with the test's name as its value, so a
// leaked container can be traced back to the test that made it.
const LabelTest = "hearth.test"

// Options configures Run.
type Options struct {
	// Image is the image instances start from; required. It must obey the function contract
	// (serve HTTP on $PORT and answer GET /_/ready with 200) and print a line containing the
	// path of every request it serves, which the suite looks for in Logs. internal/testimage
	// builds one for Docker; the fake driver serves any image it was given.
	Image string
	// MissingImage is a reference that no registry has; EnsureImage and Start of it must fail
	// with driver.ErrImageNotFound. The default is a random tag under hearth-test/missing.
	MissingImage string
	// Port is the port instances serve on inside their container (default 8080).
	Port int
	// Timeout bounds every driver call and every wait (for readiness, for a log line); the
	// default is one minute. It is a safety net against hangs, never a performance assertion.
	Timeout time.Duration
}

func (o Options) withDefaults(t *testing.T) Options {
	t.Helper()
	if o.Image == "" {
		t.Fatal("drivertest: Options.Image is required")
	}
	if o.MissingImage == "" {
		o.MissingImage = "hearth-test/missing:" + randomHex(6)
	}
	if o.Port == 0 {
		o.Port = 8080
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	return o
}

// Run checks every method of the drivers newDriver returns against the driver.Driver contract.
// newDriver is called once per subtest and must register its own cleanup with t. Every instance
// the suite starts has a unique id and is stopped in t.Cleanup, so Run may share an engine with
// other tests running at the same time.
func Run(t *testing.T, newDriver func(t *testing.T) driver.Driver, opts Options) {
	opts = opts.withDefaults(t)
	s := &suite{opts: opts}
	t.Run("Fingerprint", func(t *testing.T) { s.fingerprint(t, newDriver(t)) })
	t.Run("EnsureImage", func(t *testing.T) { s.ensureImage(t, newDriver(t)) })
	t.Run("UnknownInstance", func(t *testing.T) { s.unknownInstance(t, newDriver(t)) })
	t.Run("StartMissingImage", func(t *testing.T) { s.startMissingImage(t, newDriver(t)) })
	t.Run("CancelledContext", func(t *testing.T) { s.cancelledContext(t, newDriver(t)) })
	t.Run("Lifecycle", func(t *testing.T) { s.lifecycle(t, newDriver(t)) })
}

type suite struct {
	opts Options
}

// ctx returns a context bounded by the suite's timeout, cancelled when the test ends.
func (s *suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), s.opts.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func (s *suite) fingerprint(t *testing.T, d driver.Driver) {
	ctx := s.ctx(t)
	if err := d.EnsureImage(ctx, s.opts.Image); err != nil {
		t.Fatalf("EnsureImage(%q): %v", s.opts.Image, err)
	}
	fp, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	if fp.Name == "" || fp.Version == "" {
		t.Errorf("Fingerprint: name %q, version %q: both must be set", fp.Name, fp.Version)
	}
	if fp.Allocatable.CPUMilli <= 0 || fp.Allocatable.MemoryMB <= 0 {
		t.Errorf("Fingerprint: allocatable %+v: CPU and memory must be positive", fp.Allocatable)
	}
	// Without the Images capability the engine fetches images itself and lists none.
	if fp.Capabilities.Images && !slices.Contains(fp.Images, s.opts.Image) {
		t.Errorf("Fingerprint: images %v do not list %q, which EnsureImage made present", fp.Images, s.opts.Image)
	}
}

func (s *suite) ensureImage(t *testing.T, d driver.Driver) {
	ctx := s.ctx(t)
	fp, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	for range 2 { // present: a no-op, every time
		if err := d.EnsureImage(ctx, s.opts.Image); err != nil {
			t.Fatalf("EnsureImage(%q): %v", s.opts.Image, err)
		}
	}
	err = d.EnsureImage(ctx, s.opts.MissingImage)
	switch {
	case errors.Is(err, driver.ErrImageNotFound):
	case !fp.Capabilities.Images && err == nil:
		// The engine fetches images when it starts an instance: StartMissingImage checks that.
	default:
		t.Errorf("EnsureImage(%q) = %v, want ErrImageNotFound", s.opts.MissingImage, err)
	}
}

func (s *suite) unknownInstance(t *testing.T, d driver.Driver) {
	ctx := s.ctx(t)
	fp, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	id := uniqueID()
	pauseWant := driver.ErrInstanceNotFound
	if !fp.Capabilities.Pause {
		pauseWant = driver.ErrNotSupported
	}
	logsWant := driver.ErrInstanceNotFound
	if !fp.Capabilities.Logs {
		logsWant = driver.ErrNotSupported
	}
	_, logsErr := d.Logs(ctx, id, driver.LogOptions{})
	_, inspectErr := d.Inspect(ctx, id)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"Pause", d.Pause(ctx, id), pauseWant},
		{"Resume", d.Resume(ctx, id), pauseWant},
		{"Stop", d.Stop(ctx, id, time.Second), driver.ErrInstanceNotFound},
		{"Inspect", inspectErr, driver.ErrInstanceNotFound},
		{"Logs", logsErr, logsWant},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s(unknown id %s) = %v, want %v", c.name, id, c.err, c.want)
		}
	}
}

func (s *suite) startMissingImage(t *testing.T, d driver.Driver) {
	ctx := s.ctx(t)
	spec := s.spec(t)
	spec.Image = s.opts.MissingImage
	inst, err := d.Start(ctx, spec)
	if err == nil {
		s.cleanup(t, d, inst.ID)
		t.Fatalf("Start with missing image %q succeeded: %+v", spec.Image, inst)
	}
	if !errors.Is(err, driver.ErrImageNotFound) {
		t.Errorf("Start with missing image = %v, want ErrImageNotFound", err)
	}
	// "On error nothing is left behind."
	if _, err := d.Inspect(ctx, spec.ID); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Inspect after failed Start = %v, want ErrInstanceNotFound", err)
	}
	s.requireListed(t, d, spec.ID, false)
}

func (s *suite) cancelledContext(t *testing.T, d driver.Driver) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.Inspect(ctx, uniqueID()); !errors.Is(err, context.Canceled) {
		t.Errorf("Inspect with a cancelled ctx = %v, want context.Canceled", err)
	}
	if _, err := d.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func (s *suite) lifecycle(t *testing.T, d driver.Driver) {
	ctx := s.ctx(t)
	fp, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	if err := d.EnsureImage(ctx, s.opts.Image); err != nil {
		t.Fatalf("EnsureImage: %v", err)
	}
	spec := s.spec(t)
	inst, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start(%+v): %v", spec, err)
	}
	s.cleanup(t, d, spec.ID)
	if inst.ID != spec.ID || inst.Endpoint == "" || inst.DriverRef == "" || inst.StartedAt.IsZero() {
		t.Fatalf("Start returned %+v: want the spec's id, an endpoint, a driver ref and a start time", inst)
	}
	t.Logf("started %s at %s (%s)", inst.ID, inst.Endpoint, inst.DriverRef)

	h := newHTTPChecker(t, inst.Endpoint, s.opts.Timeout)
	h.waitReady(ctx)
	s.checkRunning(t, d, inst, spec)

	nonce := "/drivertest/" + randomHex(8)
	h.requireAnswer(ctx, nonce)
	if fp.Capabilities.Pause {
		s.pauseResume(t, d, h, spec.ID)
	} else {
		for name, err := range map[string]error{"Pause": d.Pause(ctx, spec.ID), "Resume": d.Resume(ctx, spec.ID)} {
			if !errors.Is(err, driver.ErrNotSupported) {
				t.Errorf("%s without the Pause capability = %v, want ErrNotSupported", name, err)
			}
		}
	}
	if fp.Capabilities.Logs {
		s.logs(t, d, h, spec.ID, nonce)
	} else if _, err := d.Logs(ctx, spec.ID, driver.LogOptions{}); !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("Logs without the Logs capability = %v, want ErrNotSupported", err)
	}

	if err := d.Stop(ctx, spec.ID, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := d.Inspect(ctx, spec.ID); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Inspect after Stop = %v, want ErrInstanceNotFound", err)
	}
	s.requireListed(t, d, spec.ID, false)
	if err := d.Stop(ctx, spec.ID, time.Second); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("second Stop = %v, want ErrInstanceNotFound", err)
	}
}

// checkRunning checks what Inspect and List say about a freshly started instance.
func (s *suite) checkRunning(t *testing.T, d driver.Driver, inst instance.Instance, spec instance.Spec) {
	t.Helper()
	ctx := s.ctx(t)
	st, err := d.Inspect(ctx, spec.ID)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if st.State != instance.StateRunning {
		t.Errorf("Inspect state = %q, want %q", st.State, instance.StateRunning)
	}
	if st.Instance.ID != spec.ID || st.Instance.Endpoint != inst.Endpoint || st.Instance.DriverRef != inst.DriverRef {
		t.Errorf("Inspect instance = %+v, want %+v", st.Instance, inst)
	}
	if st.Function != spec.Function {
		t.Errorf("Inspect function = %q, want %q", st.Function, spec.Function)
	}
	checkLabels(t, "Inspect", st.Labels, spec.Labels)

	listed := s.requireListed(t, d, spec.ID, true)
	if listed.State != instance.StateRunning {
		t.Errorf("List state = %q, want %q", listed.State, instance.StateRunning)
	}
	if listed.Instance.Endpoint != inst.Endpoint {
		t.Errorf("List endpoint = %q, want %q", listed.Instance.Endpoint, inst.Endpoint)
	}
	checkLabels(t, "List", listed.Labels, spec.Labels)
}

func (s *suite) pauseResume(t *testing.T, d driver.Driver, h *httpChecker, id string) {
	t.Helper()
	ctx := s.ctx(t)
	if err := d.Pause(ctx, id); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if st, err := d.Inspect(ctx, id); err != nil || st.State != instance.StatePaused {
		t.Errorf("Inspect after Pause = %q, %v; want %q", st.State, err, instance.StatePaused)
	}
	h.requireNoAnswer(ctx, "/drivertest/paused")
	if err := d.Resume(ctx, id); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if st, err := d.Inspect(ctx, id); err != nil || st.State != instance.StateRunning {
		t.Errorf("Inspect after Resume = %q, %v; want %q", st.State, err, instance.StateRunning)
	}
	h.requireAnswer(ctx, "/drivertest/resumed")
}

// spec returns a spec with a fresh id, labelled with the test's name.
func (s *suite) spec(t *testing.T) instance.Spec {
	return instance.Spec{
		ID:        uniqueID(),
		Function:  "drivertest",
		Version:   1,
		Image:     s.opts.Image,
		Env:       map[string]string{"DRIVERTEST": "1"},
		Port:      s.opts.Port,
		Resources: instance.Resources{MemoryMB: 64, CPUMilli: 500},
		Labels:    map[string]string{LabelTest: t.Name(), instance.LabelFunction: "drivertest"},
	}
}

// cleanup stops id when the test ends, whatever happened to it in between.
func (s *suite) cleanup(t *testing.T, d driver.Driver, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), s.opts.Timeout)
		defer cancel()
		if err := d.Stop(ctx, id, 0); err != nil && !errors.Is(err, driver.ErrInstanceNotFound) {
			t.Errorf("cleanup: stop %s: %v", id, err)
		}
	})
}

// requireListed checks whether List includes id and returns its status when it does.
func (s *suite) requireListed(t *testing.T, d driver.Driver, id string, want bool) instance.Status {
	t.Helper()
	list, err := d.List(s.ctx(t))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	i := slices.IndexFunc(list, func(st instance.Status) bool { return st.Instance.ID == id })
	switch {
	case want && i < 0:
		t.Fatalf("List does not include %s (%d instances listed)", id, len(list))
	case !want && i >= 0:
		t.Fatalf("List still includes %s: %+v", id, list[i])
	case i < 0:
		return instance.Status{}
	}
	return list[i]
}

func checkLabels(t *testing.T, where string, got, want map[string]string) {
	t.Helper()
	if got[instance.LabelOwner] != instance.OwnerValue {
		t.Errorf("%s: label %s = %q, want %q", where, instance.LabelOwner, got[instance.LabelOwner], instance.OwnerValue)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: label %s = %q, want %q", where, k, got[k], v)
		}
	}
}

// uniqueID returns an instance id no other test (in this process or another) will use.
func uniqueID() string { return "dt-" + randomHex(6) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
