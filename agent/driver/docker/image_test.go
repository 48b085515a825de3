package docker

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/agent/driver"
)

func missingImages(string) error { return notFound("image") }

// TestEnsureImageNeverPullsOutsideTheRegistry checks that a missing image is pulled only from
// the operator's registry, and that anything else is ErrImageNotFound saying to deploy again,
// with no pull attempted (a public registry could serve someone else's image of that name).
func TestEnsureImageNeverPullsOutsideTheRegistry(t *testing.T) {
	for _, tt := range []struct {
		name, registry, ref string
		pulled              bool
		why                 string
	}{
		{"no registry", "", "hearth-fn/hello:abc", false, "no registry is configured"},
		{"no registry, a public name", "", "docker.io/library/python:3.11", false, "no registry is configured"},
		{"outside the registry", "reg.local:5000", "docker.io/library/python:3.11", false, "not under the registry this node pulls from, reg.local:5000"},
		{"a registry whose name starts alike", "reg.local:5000", "reg.local:50001/hello:abc", false, "not under"},
		{"outside the registry's prefix", "reg.local:5000/team", "reg.local:5000/other/hello:abc", false, "not under"},
		{"under the registry", "reg.local:5000", "reg.local:5000/hearth/hello:abc", true, ""},
		{"under the registry's prefix", "reg.local:5000/team", "reg.local:5000/team/hello:abc", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := &stubAPI{imageInspect: missingImages}
			err := newStubbed(Config{Registry: tt.registry}, api).EnsureImage(t.Context(), tt.ref)
			if got := len(api.pulls) > 0; got != tt.pulled {
				t.Fatalf("pulled %v, want a pull: %v", api.pulls, tt.pulled)
			}
			if tt.pulled {
				if err != nil || !slices.Equal(api.pulls, []string{tt.ref}) {
					t.Fatalf("EnsureImage = %v after pulls %v", err, api.pulls)
				}
				return
			}
			if !errors.Is(err, driver.ErrImageNotFound) {
				t.Fatalf("EnsureImage = %v, want ErrImageNotFound", err)
			}
			for _, part := range []string{tt.ref + " is not on this node", tt.why, "deploy the function again (hearth deploy)"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
		})
	}
}

func TestEnsureImageFailedPull(t *testing.T) {
	api := &stubAPI{imageInspect: missingImages, pullErr: errors.New("manifest unknown")}
	err := newStubbed(Config{Registry: "reg.local:5000"}, api).EnsureImage(t.Context(), "reg.local:5000/hello:abc")
	if !errors.Is(err, driver.ErrImageNotFound) || !strings.Contains(err.Error(), "manifest unknown") ||
		!strings.Contains(err.Error(), "deploy the function again") {
		t.Errorf("EnsureImage = %v, want ErrImageNotFound with the registry's reason and what to do", err)
	}
}

// TestStartOfMissingImage checks that Start says the same as EnsureImage and creates nothing.
func TestStartOfMissingImage(t *testing.T) {
	api := &stubAPI{imageInspect: missingImages}
	_, err := newStubbed(Config{}, api).Start(t.Context(), testSpec)
	if !errors.Is(err, driver.ErrImageNotFound) || !strings.Contains(err.Error(), "deploy the function again") {
		t.Errorf("Start = %v, want ErrImageNotFound saying to deploy again", err)
	}
	if len(api.created) != 0 || len(api.pulls) != 0 {
		t.Errorf("%d creates and pulls %v for a missing image", len(api.created), api.pulls)
	}
}

// TestEnsureImagePullsWithTheCredentials: the pull carries the registry's credentials for its
// host (the prefix is no part of it), and an empty auth without them.
func TestEnsureImagePullsWithTheCredentials(t *testing.T) {
	decode := func(s string) map[string]string {
		raw, err := base64.URLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	api := &stubAPI{imageInspect: missingImages}
	cfg := Config{Registry: "reg.local:5000/team", RegistryUsername: "ci", RegistryPassword: "s3cret"}
	if err := newStubbed(cfg, api).EnsureImage(t.Context(), "reg.local:5000/team/hearth/hello:abc"); err != nil {
		t.Fatal(err)
	}
	if got := decode(api.pullAuths[0]); got["username"] != "ci" || got["password"] != "s3cret" || got["serveraddress"] != "reg.local:5000" {
		t.Errorf("pull auth = %v", got)
	}
	api = &stubAPI{imageInspect: missingImages}
	if err := newStubbed(Config{Registry: "reg.local:5000"}, api).EnsureImage(t.Context(), "reg.local:5000/hello:abc"); err != nil {
		t.Fatal(err)
	}
	if got := decode(api.pullAuths[0]); got["username"] != "" || got["password"] != "" {
		t.Errorf("pull auth without credentials = %v", got)
	}
}

func TestConfigValidateRegistryCredentials(t *testing.T) {
	for _, tt := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Registry: "reg.local", RegistryUsername: "u", RegistryPassword: "p"}, true},
		{Config{Registry: "reg.local", RegistryUsername: "u"}, false},
		{Config{Registry: "reg.local", RegistryPassword: "p"}, false},
		{Config{RegistryUsername: "u", RegistryPassword: "p"}, false},
	} {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate = %v, want ok %v", tt.cfg, err, tt.ok)
		}
	}
}

func TestConfigValidateRegistry(t *testing.T) {
	for reg, ok := range map[string]bool{
		"": true, "reg.local": true, "reg.local:5000": true, "reg.local:5000/team/x": true,
		"https://reg.local": false, "reg.local/": false, "user@reg.local": false,
	} {
		if err := (Config{Registry: reg}).Validate(); (err == nil) != ok {
			t.Errorf("Registry %q: Validate = %v, want ok %v", reg, err, ok)
		}
	}
}
