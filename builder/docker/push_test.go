package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/builder"
)

// fakePush is one ImagePush call.
type fakePush struct {
	ref, auth string
}

// okPush is what the engine answers to a push of one small layer.
const okPush = `{"status":"The push refers to repository [reg.local:5000/hearth/hello]"}
{"status":"Preparing","progressDetail":{},"id":"4006445e954a"}
{"status":"Pushing","progressDetail":{"current":66048,"total":6008994},"id":"4006445e954a"}
{"status":"Pushed","progressDetail":{},"id":"4006445e954a"}
{"status":"abc: digest: sha256:e10a size: 528"}
{"progressDetail":{},"aux":{"Tag":"abc","Digest":"sha256:e10a","Size":528}}
`

func (f *fakeEngine) ImagePush(_ context.Context, ref string, opts image.PushOptions) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushes = append(f.pushes, fakePush{ref: ref, auth: opts.RegistryAuth})
	if f.pushErr != nil {
		return nil, f.pushErr
	}
	out := f.pushOutput
	if out == "" {
		out = okPush
	}
	return io.NopCloser(strings.NewReader(out)), nil
}

func (f *fakeEngine) ServerVersion(context.Context) (types.Version, error) {
	return types.Version{Version: f.version}, f.versionErr
}

// registryBuilder is a fake-engine builder that pushes to reg.local:5000, with a clock that
// moves step at every reading.
func registryBuilder(t *testing.T, f *fakeEngine, step time.Duration) *Builder {
	t.Helper()
	cfg := Config{Registry: Registry{Address: "reg.local:5000", Username: "ci", Password: "s3cret"}}
	auth, err := checkRegistry(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(0, 0)
	b := fakeBuilder(f)
	b.repo, b.registry, b.auth = cfg.Repository, cfg.Registry, auth
	b.now = func() time.Time { clock = clock.Add(step); return clock }
	return b
}

func TestBuildPushesToTheRegistry(t *testing.T) {
	f := newFakeEngine(goBuildImage, goRunImage)
	b := registryBuilder(t, f, time.Millisecond)
	var lines []string
	req := builder.Request{Function: "hello", Runtime: "go", Source: helloSource(),
		Progress: func(l string) { lines = append(lines, l) }}
	res, err := b.Build(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Image, "reg.local:5000/hearth/hello:") || res.Cached {
		t.Fatalf("result %+v: want an image under the registry, built", res)
	}
	if len(f.builds) != 1 || f.builds[0].Tags[0] != res.Image {
		t.Fatalf("built %d images, tags %v: want the registry's name built locally", len(f.builds), f.builds[0].Tags)
	}
	if len(f.pushes) != 1 || f.pushes[0].ref != res.Image {
		t.Fatalf("pushes %+v, want %s", f.pushes, res.Image)
	}
	raw, err := base64.URLEncoding.DecodeString(f.pushes[0].auth)
	if err != nil {
		t.Fatal(err)
	}
	var auth map[string]string
	if err := json.Unmarshal(raw, &auth); err != nil {
		t.Fatal(err)
	}
	if auth["username"] != "ci" || auth["password"] != "s3cret" || auth["serveraddress"] != "reg.local:5000" {
		t.Fatalf("X-Registry-Auth = %s", raw)
	}
	tail := lines[len(lines)-3:]
	want := []string{"pushing " + res.Image, "layer 4006445e954a pushed (6.0 MB)", "pushed " + res.Image + " in "}
	for i, w := range want {
		if !strings.HasPrefix(tail[i], w) {
			t.Fatalf("last lines %q, want them to begin %q", tail, want)
		}
	}
	if !strings.Contains(tail[2], "1 layer sent (6.0 MB), 0 already in the registry; digest sha256:e10a") {
		t.Errorf("summary %q", tail[2])
	}

	// A redeploy of the same source builds nothing but pushes again: the registry may have
	// lost the image.
	lines = nil
	f.pushOutput = `{"status":"Preparing","progressDetail":{},"id":"4006445e954a"}
{"status":"Layer already exists","progressDetail":{},"id":"4006445e954a"}
{"progressDetail":{},"aux":{"Tag":"abc","Digest":"sha256:e10a","Size":528}}
`
	again, err := b.Build(context.Background(), req)
	if err != nil || !again.Cached || again.Image != res.Image {
		t.Fatalf("redeploy = %+v, %v", again, err)
	}
	if len(f.builds) != 1 || len(f.pushes) != 2 {
		t.Fatalf("redeploy: %d builds, %d pushes; want no build and a push", len(f.builds), len(f.pushes))
	}
	if len(lines) != 2 || !strings.Contains(lines[1], ": 1 layer already in the registry; digest sha256:e10a") {
		t.Errorf("cached push lines %q: want the start and a summary saying the layer was there", lines)
	}
}

func TestBuildWithoutRegistryPushesNothing(t *testing.T) {
	f := newFakeEngine(goBuildImage, goRunImage)
	res, err := fakeBuilder(f).Build(context.Background(), builder.Request{Function: "hello", Runtime: "go", Source: helloSource()})
	if err != nil || !strings.HasPrefix(res.Image, "hearth/hello:") || len(f.pushes) != 0 {
		t.Fatalf("Build = %+v, %v; %d pushes", res, err, len(f.pushes))
	}
}

// TestPushProgressIsCondensed: a push of three layers sends thousands of progress messages;
// the deploy stream gets a line per layer sent, one every pushReportEvery, and the summary.
func TestPushProgressIsCondensed(t *testing.T) {
	var out strings.Builder
	msg := func(status, id string, cur, total int64) {
		fmt.Fprintf(&out, `{"status":%q,"id":%q,"progressDetail":{"current":%d,"total":%d}}`+"\n", status, id, cur, total)
	}
	out.WriteString(`{"status":"The push refers to repository [reg.local:5000/hearth/big]"}` + "\n")
	for _, id := range []string{"aaa", "bbb", "ccc"} {
		msg("Preparing", id, 0, 0)
	}
	msg("Layer already exists", "aaa", 0, 0)
	const total = 50_000_000
	for cur := int64(0); cur <= total; cur += 25_000 { // 2001 messages per layer
		msg("Pushing", "bbb", cur, total)
		msg("Pushing", "ccc", cur/2, total)
	}
	msg("Pushed", "bbb", 0, 0)
	msg("Retrying in 3 seconds", "ccc", 0, 0)
	msg("Retrying in 2 seconds", "ccc", 0, 0)
	msg("Retrying in 1 second", "ccc", 0, 0)
	msg("Pushing", "ccc", total, total)
	msg("Pushed", "ccc", 0, 0)
	out.WriteString(`{"aux":{"Digest":"sha256:feed"}}` + "\n")

	f := newFakeEngine()
	f.pushOutput = out.String()
	// 10 ms a message: the push takes about 40 s.
	b := registryBuilder(t, f, 10*time.Millisecond)
	var lines []string
	if err := b.push(context.Background(), "reg.local:5000/hearth/big:abc", func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatal(err)
	}
	if len(lines) > 15 {
		t.Fatalf("%d lines for a 40 s push:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var periodic, retries int
	for _, l := range lines {
		if strings.HasPrefix(l, "pushing: ") {
			periodic++
		}
		if strings.Contains(l, "tries again") {
			retries++
		}
	}
	if periodic < 5 || retries != 1 {
		t.Errorf("%d progress lines (want one about every 5 s), %d retry lines (want 1):\n%s", periodic, retries, strings.Join(lines, "\n"))
	}
	for _, want := range []string{"pushing: 9% of 100.0 MB, 1 of 3 layers done", "layer bbb pushed (50.0 MB)", "layer ccc pushed (50.0 MB)",
		"2 layers sent (100.0 MB), 1 already in the registry; digest sha256:feed"} {
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("no line says %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

// TestPushProgressWithoutSizes: while a layer waits its turn its size is unknown, and a
// percentage would be of a total that grows; the line says the bytes sent instead.
func TestPushProgressWithoutSizes(t *testing.T) {
	tr := &pushTracker{layers: map[string]*pushLayer{}, say: func(string) {}, now: time.Now, every: time.Hour}
	tr.handle(pushMessage{Status: "Waiting", ID: "aaa"})
	m := pushMessage{Status: "Pushing", ID: "bbb"}
	m.ProgressDetail.Current, m.ProgressDetail.Total = 1_500_000, 3_000_000
	tr.handle(m)
	if got := tr.progressLine(); got != "pushing: 1.5 MB sent, 0 of 2 layers done" {
		t.Errorf("progress = %q", got)
	}
	m.ID = "aaa"
	tr.handle(m)
	if got := tr.progressLine(); got != "pushing: 50% of 6.0 MB, 0 of 2 layers done" {
		t.Errorf("progress = %q", got)
	}
}

func TestPushFailures(t *testing.T) {
	req := builder.Request{Function: "hello", Runtime: "go", Source: helloSource()}
	for _, tt := range []struct {
		name    string
		output  string
		pushErr error
		want    error
		says    string
	}{
		{"registry down", `{"status":"The push refers to repository [reg.local:5000/hearth/hello]"}
{"errorDetail":{"message":"Get \"http://reg.local:5000/v2/\": connection refused"},"error":"Get \"http://reg.local:5000/v2/\": connection refused"}`,
			nil, builder.ErrPushFailed, `connection refused (the Docker Engine at unix:///fake.sock pushes to reg.local:5000`},
		{"credentials refused", `{"error":"unauthorized: authentication required"}`, nil, builder.ErrPushFailed, "authentication required"},
		{"stream cut short", `{"status":"Preparing","id":"aaa"}`, nil, builder.ErrPushFailed, "ended before the registry confirmed"},
		{"engine refuses the push", "", errors.New("invalid reference format"), builder.ErrPushFailed, "invalid reference format"},
		{"engine down", "", client.ErrorConnectionFailed("unix:///fake.sock"), builder.ErrUnavailable, "Docker at unix:///fake.sock"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEngine(goBuildImage, goRunImage)
			f.pushOutput, f.pushErr = tt.output, tt.pushErr
			var lines []string
			req.Progress = func(l string) { lines = append(lines, l) }
			_, err := registryBuilder(t, f, time.Millisecond).Build(context.Background(), req)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Build = %v, want %v saying %q", err, tt.want, tt.says)
			}
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "pushing reg.local:5000/hearth/hello:") {
				t.Errorf("lines %q: want the push's start last", lines)
			}
		})
	}
}

func TestValidateRegistry(t *testing.T) {
	for addr, why := range map[string]string{
		"reg.local": "", "reg.local:5000": "", "127.0.0.1:5000": "", "localhost": "", "localhost:5000/team": "",
		"registry.example.com/team/sub": "", "[::1]:5000": "", "reg-1.local/a_b.c--d": "", "MyReg.local": "",
		"":                          "empty",
		"https://reg.local":         "without a scheme",
		"user:pw@reg.local":         "credentials go in --registry-username",
		"registry":                  "account on Docker Hub",
		"registry/team":             "account on Docker Hub",
		"reg.local:0":               "port",
		"reg.local:http":            "port",
		"reg.local:05000":           "port",
		"reg_local.x":               "not a host name",
		"-reg.local":                "not a host name",
		"reg.local/":                "no empty components",
		"reg.local/Team":            "lower-case",
		"reg.local/team//x":         "no empty components",
		"reg.local/team-":           "lower-case",
		"reg.local:5000/team name":  "credentials go in",
		"reg.local:5000/team:x":     "lower-case",
		"reg.local:5000/team/x.._y": "lower-case",
	} {
		err := ValidateRegistry(addr)
		if why == "" {
			if err != nil {
				t.Errorf("%q: %v", addr, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidRegistry) || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want ErrInvalidRegistry saying %q", addr, err, why)
		}
	}
}

func TestNewWithRegistry(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		repo string // "" when New must fail
		says string
	}{
		{"registry", Config{Registry: Registry{Address: "reg.local:5000/team"}}, "reg.local:5000/team/hearth", ""},
		{"with credentials", Config{Registry: Registry{Address: "reg.local", Username: "u", Password: "p"}}, "reg.local/hearth", ""},
		{"repository under it", Config{Repository: "reg.local/fns", Registry: Registry{Address: "reg.local"}}, "reg.local/fns", ""},
		{"repository outside it", Config{Repository: "other.local/fns", Registry: Registry{Address: "reg.local"}}, "", "not in the registry"},
		{"no password", Config{Registry: Registry{Address: "reg.local", Username: "u"}}, "", "needs a password"},
		{"no username", Config{Registry: Registry{Address: "reg.local", Password: "p"}}, "", "needs a password"},
		{"credentials alone", Config{Registry: Registry{Username: "u", Password: "p"}}, "", "without a registry"},
		{"bad address", Config{Registry: Registry{Address: "registry"}}, "", "Docker Hub"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(tt.cfg)
			if tt.repo == "" {
				if err == nil || !strings.Contains(err.Error(), tt.says) {
					t.Fatalf("New = %v, want an error saying %q", err, tt.says)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.repo != tt.repo || b.Status(context.Background()).Registry != tt.cfg.Registry.Address {
				t.Fatalf("repository %q, status %+v; want %q", b.repo, b.Status(context.Background()), tt.repo)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	f := newFakeEngine()
	f.version = "20.10.24"
	st := registryBuilder(t, f, time.Millisecond).Status(context.Background())
	if st != (builder.Status{Engine: "docker 20.10.24", Host: "unix:///fake.sock", Registry: "reg.local:5000"}) {
		t.Fatalf("Status = %+v", st)
	}
	f.versionErr = client.ErrorConnectionFailed("unix:///fake.sock")
	st = fakeBuilder(f).Status(context.Background())
	if st.Engine != "docker" || st.Registry != "" || !strings.Contains(st.Problem, "Docker at unix:///fake.sock") {
		t.Fatalf("Status of an unreachable engine = %+v", st)
	}
}
