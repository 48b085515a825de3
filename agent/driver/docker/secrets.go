package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/mount"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// This file delivers a function's secrets (instance.Spec.Secrets) to its container:
//   - as files (the default): a directory of the instance's own under Config.SecretsDir (a
//     tmpfs), one file per secret, owned by the instance's user with mode 0400, bind-mounted
//     read-only at /run/secrets, and removed when the instance stops. `docker inspect` shows
//     the mount's source path, never a value.
//   - as environment variables (secrets: env): set after the function's env, so a secret wins
//     over an env entry of the same name, and before PORT, which nothing overrides. Docker
//     keeps a container's environment in its configuration: `docker inspect` shows it to
//     whoever may use the engine.

// secretEnv adds the spec's secrets to env when it asks for them as variables.
func secretEnv(env map[string]string, spec instance.Spec) {
	if spec.SecretsAs != instance.SecretsEnv {
		return
	}
	for k, v := range spec.Secrets {
		env[k] = string(v)
	}
}

// secretsFiles reports whether spec's secrets go in as files.
func secretsFiles(spec instance.Spec) bool {
	return len(spec.Secrets) > 0 && spec.SecretsAs != instance.SecretsEnv
}

// secretsRoot is where this driver's instances' secret directories are: a directory per
// engine under SecretsDir, so that the sweep of one engine's driver never takes another's.
func (d *Driver) secretsRoot() string {
	sum := sha256.Sum256([]byte(d.cfg.Host))
	return filepath.Join(d.cfg.SecretsDir, hex.EncodeToString(sum[:6]))
}

// secretsPath is the host directory of an instance's secret files.
func (d *Driver) secretsPath(id string) string {
	return filepath.Join(d.secretsRoot(), id)
}

// writeSecrets writes spec's secrets as files for the container's user (as Start resolved
// it) and returns the mount that shows them at /run/secrets. With a numeric uid the files are
// that user's, mode 0400 (and the directory 0500); with a user name, which only the image can
// resolve, or a server that may not chown, they are readable by all the container's users
// (0444): on the host, SecretsDir (0700) keeps everyone but root out either way.
func (d *Driver) writeSecrets(spec instance.Spec, user string) (mount.Mount, error) {
	if !strings.HasPrefix(d.cfg.Host, "unix://") {
		return mount.Mount{}, fmt.Errorf("secrets as files need the Docker Engine on the driver's own machine (a bind mount of a memory-backed directory); the engine at %s is not: use secrets: env in func.yaml: %w",
			d.cfg.Host, driver.ErrNotSupported)
	}
	if err := os.MkdirAll(d.secretsRoot(), 0o700); err != nil {
		return mount.Mount{}, fmt.Errorf("make the secrets directory: %w", err)
	}
	if err := os.Chmod(d.cfg.SecretsDir, 0o700); err != nil {
		return mount.Mount{}, fmt.Errorf("make the secrets directory private: %w", err)
	}
	dir := d.secretsPath(spec.ID)
	_ = os.RemoveAll(dir) // what a killed earlier start of the same id left
	if err := os.Mkdir(dir, 0o700); err != nil {
		return mount.Mount{}, fmt.Errorf("make the instance's secrets directory: %w", err)
	}
	uid, owned := numericUID(user)
	fileMode, dirMode := os.FileMode(0o400), os.FileMode(0o500)
	if owned && os.Getuid() != 0 && uid != os.Getuid() {
		owned = false // only root may give files away
	}
	if !owned {
		fileMode, dirMode = 0o444, 0o555
	}
	err := func() error {
		for k, v := range spec.Secrets {
			p := filepath.Join(dir, k)
			if err := os.WriteFile(p, v, 0o600); err != nil {
				return err
			}
			if owned {
				if err := os.Chown(p, uid, -1); err != nil {
					return err
				}
			}
			if err := os.Chmod(p, fileMode); err != nil {
				return err
			}
		}
		if owned {
			if err := os.Chown(dir, uid, -1); err != nil {
				return err
			}
		}
		return os.Chmod(dir, dirMode)
	}()
	if err != nil {
		d.removeSecrets(spec.ID)
		return mount.Mount{}, fmt.Errorf("write the instance's secret files: %w", err)
	}
	return mount.Mount{Type: mount.TypeBind, Source: dir, Target: instance.SecretsDir, ReadOnly: true}, nil
}

// removeSecrets removes an instance's secret files, if it had any.
func (d *Driver) removeSecrets(id string) {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return
	}
	if err := os.RemoveAll(d.secretsPath(id)); err != nil {
		d.cfg.Logger.Warn("cannot remove an instance's secret files", "instance", id, "error", err)
	}
}

// numericUID reads the uid of a container user "UID[:GID]"; ok is false for a user name.
func numericUID(user string) (int, bool) {
	name, _, _ := strings.Cut(user, ":")
	uid, err := strconv.Atoi(name)
	return uid, err == nil && uid >= 0
}

// Secret directories whose container is gone without a Stop through the driver (removed by
// hand, or by a node that adopted nothing) are swept by List: those older than
// sweepSecretsAge, so that one written for a start still under way is left alone, at most
// once per sweepSecretsEvery.
const (
	sweepSecretsAge   = 10 * time.Minute
	sweepSecretsEvery = time.Minute
)

// secretsSweep is when List last swept.
type secretsSweep struct {
	mu   sync.Mutex
	last time.Time
}

// sweepSecrets removes the secret directories of instances not in listed, the driver's whole
// listing of hearth's containers on the engine.
func (d *Driver) sweepSecrets(listed []instance.Status) {
	d.sweep.mu.Lock()
	if time.Since(d.sweep.last) < sweepSecretsEvery {
		d.sweep.mu.Unlock()
		return
	}
	d.sweep.last = time.Now()
	d.sweep.mu.Unlock()
	entries, err := os.ReadDir(d.secretsRoot())
	if err != nil {
		return // none yet
	}
	live := make(map[string]bool, len(listed))
	for _, st := range listed {
		live[st.Instance.ID] = true
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() || live[e.Name()] || time.Since(info.ModTime()) < sweepSecretsAge {
			continue
		}
		d.cfg.Logger.Info("removing the secret files of an instance whose container is gone", "instance", e.Name())
		d.removeSecrets(e.Name())
	}
}
