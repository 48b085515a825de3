package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/hearthfn/hearth/agent/driver"
)

// EnsureImage returns at once when ref is present. A missing image is pulled only when ref is
// under Config.Registry: a node never asks a public registry for anything, since a function
// image found there under the same name would be someone else's code. Otherwise, and when the
// pull fails, the error is ErrImageNotFound and says to deploy the function again (the image
// is built on the node that deploys it); an unreachable engine is ErrUnavailable.
func (d *Driver) EnsureImage(ctx context.Context, ref string) error {
	octx, cancel := d.opCtx(ctx)
	_, err := d.api.ImageInspect(octx, ref)
	cancel()
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return d.wrapErr(ctx, err, nil, "ensure image %s", ref)
	}
	if !d.underRegistry(ref) {
		return d.imageMissing(ref)
	}
	pctx, cancel := context.WithTimeout(ctx, d.cfg.PullTimeout)
	defer cancel()
	auth, err := d.registryAuth()
	if err != nil {
		return err
	}
	rc, err := d.api.ImagePull(pctx, ref, image.PullOptions{RegistryAuth: auth})
	if err == nil {
		err = drainPull(rc)
		_ = rc.Close()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || isUnreachable(err) {
		return d.wrapErr(ctx, err, nil, "pull %s", ref)
	}
	return fmt.Errorf("image %s is not on this node and the pull from %s failed (%v): deploy the function again (hearth deploy) to build it: %w",
		ref, d.cfg.Registry, err, driver.ErrImageNotFound)
}

// registryAuth is the X-Registry-Auth of a pull from the registry: its credentials, when
// configured, for its host. It is sent even without credentials: older engines fail a request
// whose header is empty.
func (d *Driver) registryAuth() (string, error) {
	host, _, _ := strings.Cut(d.cfg.Registry, "/")
	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: d.cfg.RegistryUsername,
		Password: d.cfg.RegistryPassword, ServerAddress: host})
	if err != nil {
		return "", fmt.Errorf("encode the credentials of registry %s: %w", d.cfg.Registry, err)
	}
	return auth, nil
}

// underRegistry reports whether ref names an image in the configured registry (and below its
// prefix, when it has one).
func (d *Driver) underRegistry(ref string) bool {
	return d.cfg.Registry != "" && strings.HasPrefix(ref, d.cfg.Registry+"/")
}

// imageMissing is the error for an image that is not on the node and may not be pulled.
func (d *Driver) imageMissing(ref string) error {
	why := "no registry is configured to pull it from"
	if d.cfg.Registry != "" {
		why = "it is not under the registry this node pulls from, " + d.cfg.Registry
	}
	return fmt.Errorf("image %s is not on this node and %s: deploy the function again (hearth deploy) to build it: %w",
		ref, why, driver.ErrImageNotFound)
}

// drainPull reads a pull's progress stream to its end: Docker reports a failed pull inside the
// stream, after a 200, so the error is only known once it is read.
func drainPull(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
