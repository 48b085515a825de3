package docker

import (
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
