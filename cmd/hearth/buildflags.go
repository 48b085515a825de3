package main

import (
	"errors"
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
	registry      registryFlags
}

// registryFlags name the registry images are pushed to and pulled from, and its credentials.
// The password is never a flag's value, which any user of the machine can read in ps: it
// comes from a file, or from HEARTH_REGISTRY_PASSWORD.
type registryFlags struct {
	addr, username, passwordFile string
}

// registryPasswordEnv holds the registry's password when no password file is given.
const registryPasswordEnv = "HEARTH_REGISTRY_PASSWORD"

func (b *buildFlags) register(f *pflag.FlagSet) {
	// A string slice, so that HEARTH_RUNTIME_IMAGE takes a comma-separated list (image
	// references have no commas) and the flag may be repeated.
	f.StringSliceVar(&b.runtimeImages, "runtime-image", nil,
		"use IMAGE instead of a runtime's own build or run image: NAME.build=IMAGE or NAME.run=IMAGE (repeatable)")
	f.StringVar(&b.caBundle, "build-ca-bundle", "",
		"PEM file of certificate authorities function builds trust, e.g. to reach a package index through a TLS-inspecting proxy")
	f.IntVar(&b.maxBuilds, "max-builds", dockerbuilder.DefaultMaxBuilds,
		"function builds that run at once; more deploys wait for a slot (an unchanged redeploy builds nothing and never waits)")
	f.StringVar(&b.registry.addr, "registry", "",
		"push every function image to this registry, HOST[:PORT][/PREFIX], as <registry>/hearth/<function>:<hash>; nodes pull from it (default: none, images stay in the local engine)")
	b.registry.registerCredentials(f)
}

// registerCredentials adds the credential flags, which the server and the driver plugin share.
func (r *registryFlags) registerCredentials(f *pflag.FlagSet) {
	f.StringVar(&r.username, "registry-username", "",
		"user name for --registry; its password comes from --registry-password-file or "+registryPasswordEnv)
	f.StringVar(&r.passwordFile, "registry-password-file", "",
		"file holding the password of --registry-username (a flag's value would show in ps)")
}

// credentials checks the registry settings and returns the registry with its password read,
// from the file or else from the environment variable (getenv looks it up). What is given
// must fit together: credentials need a registry, a user name a password and the other way
// round, and the password comes one way only.
func (r *registryFlags) credentials(getenv func(string) (string, bool)) (dockerbuilder.Registry, error) {
	envPassword, inEnv := getenv(registryPasswordEnv)
	if r.addr == "" {
		if r.username != "" || r.passwordFile != "" || inEnv {
			return dockerbuilder.Registry{}, fmt.Errorf("registry credentials (--registry-username, --registry-password-file or %s) without --registry", registryPasswordEnv)
		}
		return dockerbuilder.Registry{}, nil
	}
	if err := dockerbuilder.ValidateRegistry(r.addr); err != nil {
		return dockerbuilder.Registry{}, fmt.Errorf("--registry: %w", err)
	}
	reg := dockerbuilder.Registry{Address: r.addr, Username: r.username}
	switch {
	case r.passwordFile != "" && inEnv:
		return dockerbuilder.Registry{}, fmt.Errorf("the registry's password is in --registry-password-file and in %s: give it one way", registryPasswordEnv)
	case r.passwordFile != "":
		b, err := os.ReadFile(r.passwordFile)
		if err != nil {
			return dockerbuilder.Registry{}, fmt.Errorf("--registry-password-file: %w", err)
		}
		// Files made with echo end in a newline that is no part of the password.
		reg.Password = strings.TrimRight(string(b), "\r\n")
		if reg.Password == "" {
			return dockerbuilder.Registry{}, fmt.Errorf("--registry-password-file %s is empty", r.passwordFile)
		}
	case inEnv:
		if reg.Password = envPassword; reg.Password == "" {
			return dockerbuilder.Registry{}, fmt.Errorf("%s is empty", registryPasswordEnv)
		}
	}
	switch {
	case reg.Username != "" && reg.Password == "":
		return dockerbuilder.Registry{}, fmt.Errorf("--registry-username %s needs a password: put it in a file named by --registry-password-file, or in %s", reg.Username, registryPasswordEnv)
	case reg.Username == "" && reg.Password != "":
		return dockerbuilder.Registry{}, errors.New("a registry password without --registry-username")
	}
	return reg, nil
}

// driverArgs are the arguments that give the driver plugin the registry to pull from. Its
// password goes by file name, or by the environment the plugin inherits: never on its
// command line.
func (r *registryFlags) driverArgs() []string {
	if r.addr == "" {
		return nil
	}
	args := []string{"--registry", r.addr}
	if r.username != "" {
		args = append(args, "--registry-username", r.username)
	}
	if r.passwordFile != "" {
		args = append(args, "--registry-password-file", r.passwordFile)
	}
	return args
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
	reg, err := b.registry.credentials(os.LookupEnv)
	if err != nil {
		return dockerbuilder.Config{}, err
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
		MaxBuilds: b.maxBuilds, Registry: reg}, nil
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
