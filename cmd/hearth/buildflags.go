package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	dockerbuilder "github.com/hearthfn/hearth/builder/docker"
	"github.com/hearthfn/hearth/runtimes"
)

// buildFlags are the server's settings for function builds.
type buildFlags struct {
	runtimeImages []string // NAME.build=IMAGE or NAME.run=IMAGE
	caBundle      string
	maxBuilds     int
}

func (b *buildFlags) register(f *pflag.FlagSet) {
	// A string slice, so that HEARTH_RUNTIME_IMAGE takes a comma-separated list (image
	// references have no commas) and the flag may be repeated.
	f.StringSliceVar(&b.runtimeImages, "runtime-image", nil,
		"use IMAGE instead of a runtime's own build or run image: NAME.build=IMAGE or NAME.run=IMAGE (repeatable)")
	f.StringVar(&b.caBundle, "build-ca-bundle", "",
		"PEM file of certificate authorities function builds trust, e.g. to reach a package index through a TLS-inspecting proxy")
	f.IntVar(&b.maxBuilds, "max-builds", dockerbuilder.DefaultMaxBuilds,
		"function builds that run at once; more deploys wait for a slot (an unchanged redeploy builds nothing and never waits)")
}

// config returns the builder's configuration for the engine at host.
func (b *buildFlags) config(host string, catalog *runtimes.Catalog) (dockerbuilder.Config, error) {
	images, err := parseRuntimeImages(b.runtimeImages, catalog)
	if err != nil {
		return dockerbuilder.Config{}, err
	}
	if b.maxBuilds < 1 {
		return dockerbuilder.Config{}, fmt.Errorf("--max-builds %d: must be 1 or more", b.maxBuilds)
	}
	if b.caBundle != "" {
		// The builder reads it; checked here too so that a wrong path stops the server before
		// it starts anything.
		if fi, err := os.Stat(b.caBundle); err != nil {
			return dockerbuilder.Config{}, fmt.Errorf("--build-ca-bundle: %w", err)
		} else if !fi.Mode().IsRegular() || fi.Size() == 0 {
			return dockerbuilder.Config{}, fmt.Errorf("--build-ca-bundle %s: not a PEM file (empty or not a regular file)", b.caBundle)
		}
	}
	return dockerbuilder.Config{Host: host, Catalog: catalog, Images: images, CABundle: b.caBundle,
		MaxBuilds: b.maxBuilds}, nil
}

// parseRuntimeImages reads --runtime-image values. A runtime or image kind the catalog does not
// have is an error, so that a typo does not silently build with the default image.
func parseRuntimeImages(values []string, catalog *runtimes.Catalog) (map[string]dockerbuilder.RuntimeImages, error) {
	out := map[string]dockerbuilder.RuntimeImages{}
	for _, v := range values {
		key, image, ok := strings.Cut(strings.TrimSpace(v), "=")
		name, kind, ok2 := strings.Cut(key, ".")
		if !ok || !ok2 || image == "" || strings.ContainsAny(image, " \t") {
			return nil, fmt.Errorf("--runtime-image %q: use NAME.build=IMAGE or NAME.run=IMAGE", v)
		}
		rt, err := catalog.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("--runtime-image %q: %w", v, err)
		}
		cur := out[name]
		switch {
		case kind == "build" && rt.BuildImage != "":
			cur.Build = image
		case kind == "run" && rt.RunImage != "":
			cur.Run = image
		case kind == "build" || kind == "run":
			return nil, fmt.Errorf("--runtime-image %q: the %s runtime has no %s image to replace", v, name, kind)
		default:
			return nil, fmt.Errorf("--runtime-image %q: %q is neither build nor run", v, kind)
		}
		out[name] = cur
	}
	return out, nil
}
