package registry_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/store"
)

func ptr[T any](v T) *T { return &v }

// deployed deploys hello with func.yaml extra and returns the function.
func deployed(t *testing.T, e *env, extra string) api.Function {
	t.Helper()
	fn, _, _, err := e.deploy(t, "hello", source(helloYAML+extra, "package main\n"))
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return fn
}

func TestConfigureRecordsVersionWithSameImage(t *testing.T) {
	e := newEnv(t, 0)
	v1 := deployed(t, e, "memory: 256\nenv:\n  KEEP: k\n  GONE: g\n  EMPTIED: e\n")

	fn, err := e.reg.Configure(t.Context(), "hello", api.ConfigPatch{
		IdleTimeout:  ptr(api.Duration(10 * time.Second)),
		PauseTimeout: ptr(api.Duration(time.Minute)),
		MaxInstances: ptr(5),
		Queue:        ptr(20),
		Env:          map[string]*string{"A": ptr("b"), "GONE": nil, "EMPTIED": ptr(""), "NEVER_SET": nil},
	})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if fn.Version.Number != 2 || fn.Version.Image != v1.Version.Image || fn.Version.SourceHash != v1.Version.SourceHash {
		t.Errorf("configured = v%d %s %s, want v2 of %s %s", fn.Version.Number, fn.Version.Image,
			fn.Version.SourceHash, v1.Version.Image, v1.Version.SourceHash)
	}
	want := v1.Version.Spec
	want.IdleTimeout, want.PauseTimeout = api.Duration(10*time.Second), api.Duration(time.Minute)
	want.MaxInstances, want.Queue = 5, 20
	want.Env = map[string]string{"KEEP": "k", "A": "b"}
	if !reflect.DeepEqual(fn.Version.Spec, want) {
		t.Errorf("spec =\n%+v\nwant\n%+v", fn.Version.Spec, want)
	}
	if fn.URL != baseURL+"/invoke/hello" {
		t.Errorf("URL = %q, want the function decorated", fn.URL)
	}

	// The version is stored: Get and Versions show it, and the pool got it.
	got, err := e.reg.Get(t.Context(), "hello")
	if err != nil || !reflect.DeepEqual(got.Version.Spec, want) || got.Version.Number != 2 {
		t.Errorf("Get = v%d %+v, %v; want v2 with the new spec", got.Version.Number, got.Version.Spec, err)
	}
	if nums := versionNumbers(t, e, "hello"); !reflect.DeepEqual(nums, []int{2, 1}) {
		t.Errorf("versions = %v, want [2 1]", nums)
	}
	applied := e.pool.Applied()
	if len(applied) != 2 || applied[1].Version.Number != 2 || applied[1].Version.Spec.MaxInstances != 5 {
		t.Errorf("pool.Apply calls = %+v, want the deploy and then v2", applied)
	}
}

func TestConfigureUnchangedCreatesNothing(t *testing.T) {
	e := newEnv(t, 0)
	deployed(t, e, "max_instances: 4\nenv:\n  A: b\n")
	for _, tt := range []struct {
		name  string
		patch api.ConfigPatch
	}{
		{"empty patch", api.ConfigPatch{}},
		{"same values", api.ConfigPatch{MaxInstances: ptr(4), Env: map[string]*string{"A": ptr("b")}}},
		// The stored spec leaves these at zero; writing the default out changes nothing.
		{"defaults written out", api.ConfigPatch{IdleTimeout: ptr(api.DefaultIdleTimeout), Queue: ptr(api.DefaultQueue),
			MemoryMB: ptr(int64(api.DefaultMemoryMB)), CPUMilli: ptr(int64(0)), MinInstances: ptr(0)}},
		{"unset a variable that is not set", api.ConfigPatch{Env: map[string]*string{"NOPE": nil}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fn, err := e.reg.Configure(t.Context(), "hello", tt.patch)
			if err != nil {
				t.Fatalf("Configure: %v", err)
			}
			if fn.Version.Number != 1 || fn.URL == "" || fn.Version.Spec.Queue != api.DefaultQueue {
				t.Errorf("Configure = v%d url %q spec %+v, want v1 decorated", fn.Version.Number, fn.URL, fn.Version.Spec)
			}
		})
	}
	if nums := versionNumbers(t, e, "hello"); !reflect.DeepEqual(nums, []int{1}) {
		t.Errorf("versions = %v, want only [1]", nums)
	}
	if n := len(e.pool.Applied()); n != 1 {
		t.Errorf("pool.Apply called %d times, want once (the deploy)", n)
	}
}

func TestConfigureRejects(t *testing.T) {
	e := newEnv(t, 0)
	deployed(t, e, "min_instances: 2\n")
	for _, tt := range []struct {
		name       string
		patch      api.ConfigPatch
		field      string
		reasonPart string
	}{
		{"memory out of range", api.ConfigPatch{MemoryMB: ptr(int64(8))}, "memory", "from 16 to 16384"},
		{"memory zero is not the default", api.ConfigPatch{MemoryMB: ptr(int64(0))}, "memory", "from 16 to 16384"},
		{"cpu negative", api.ConfigPatch{CPUMilli: ptr(int64(-1))}, "cpu", "CPU amount"},
		{"timeout too long", api.ConfigPatch{Timeout: ptr(api.Duration(16 * time.Minute))}, "timeout", "at most 15m0s"},
		{"timeout zero", api.ConfigPatch{Timeout: ptr(api.Duration(0))}, "timeout", "positive duration"},
		{"idle_timeout below 1s", api.ConfigPatch{IdleTimeout: ptr(api.Duration(time.Millisecond))}, "idle_timeout", "at least 1s"},
		{"pause_timeout zero", api.ConfigPatch{PauseTimeout: ptr(api.Duration(0))}, "pause_timeout", "at least 1s"},
		{"queue too big", api.ConfigPatch{Queue: ptr(10001)}, "queue", "1 to 10000"},
		{"queue zero", api.ConfigPatch{Queue: ptr(0)}, "queue", "1 to 10000"},
		{"concurrency zero", api.ConfigPatch{Concurrency: ptr(0)}, "concurrency", "1 to 1000"},
		{"max below the stored min", api.ConfigPatch{MaxInstances: ptr(1)}, "max_instances", "at least min_instances (2)"},
		{"max zero", api.ConfigPatch{MaxInstances: ptr(0)}, "max_instances", "1 or more"},
		{"min negative", api.ConfigPatch{MinInstances: ptr(-1)}, "min_instances", "0 or more"},
		{"env bad name", api.ConfigPatch{Env: map[string]*string{"1A": ptr("x")}}, "env.1A", "valid variable name"},
		{"env reserved", api.ConfigPatch{Env: map[string]*string{"PORT": ptr("9000")}}, "env.PORT", "set by the platform"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.reg.Configure(t.Context(), "hello", tt.patch)
			wantField(tt.field)(t, err)
			var se *registry.SettingError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *registry.SettingError", err)
			}
			if !strings.HasPrefix(err.Error(), `setting "`+tt.field+`": `) || !strings.Contains(err.Error(), tt.reasonPart) {
				t.Errorf("message %q, want `setting %q: ...%s...`", err, tt.field, tt.reasonPart)
			}
		})
	}
	if nums := versionNumbers(t, e, "hello"); !reflect.DeepEqual(nums, []int{1}) {
		t.Errorf("versions = %v, want only [1]: a refused change records nothing", nums)
	}
	if n := len(e.pool.Applied()); n != 1 {
		t.Errorf("pool.Apply called %d times, want once (the deploy)", n)
	}
}

func TestConfigureUnknownFunction(t *testing.T) {
	e := newEnv(t, 0)
	_, err := e.reg.Configure(t.Context(), "nope", api.ConfigPatch{MaxInstances: ptr(3)})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Configure(nope) = %v, want store.ErrNotFound", err)
	}
	if n := len(e.pool.Applied()); n != 0 {
		t.Errorf("pool.Apply called %d times, want never", n)
	}
}

func TestDeployAfterConfigureAppliesFuncYAMLAgain(t *testing.T) {
	e := newEnv(t, 0)
	deployed(t, e, "")
	if _, err := e.reg.Configure(t.Context(), "hello", api.ConfigPatch{MaxInstances: ptr(3)}); err != nil {
		t.Fatal(err)
	}
	fn := deployed(t, e, "")
	if fn.Version.Number != 3 || fn.Version.Spec.MaxInstances != api.DefaultMaxInstances {
		t.Errorf("redeploy = v%d max %d, want v3 back at func.yaml's (default) max", fn.Version.Number, fn.Version.Spec.MaxInstances)
	}
}

// Configure and Deploy of one function are serialised: every change is a version of its own.
func TestConfigureConcurrentWithDeploys(t *testing.T) {
	e := newEnv(t, 0)
	deployed(t, e, "")
	var wg sync.WaitGroup
	errs := make([]error, 6)
	srcs := make([][]byte, 3)
	for i := range srcs {
		srcs[i] = pack(t, source(helloYAML, "package main // "+strings.Repeat("x", i+1)+"\n"))
	}
	for i := range 3 {
		wg.Go(func() {
			_, errs[i] = e.reg.Configure(context.Background(), "hello", api.ConfigPatch{Queue: ptr(10 + i)})
		})
		wg.Go(func() {
			_, _, errs[3+i] = e.reg.Deploy(context.Background(), "hello", bytes.NewReader(srcs[i]), nil)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if nums := versionNumbers(t, e, "hello"); len(nums) != 7 || nums[0] != 7 {
		t.Errorf("versions = %v, want 7..1", nums)
	}
}
