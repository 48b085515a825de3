package pool

import (
	"context"
	"fmt"
	"strings"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// This file is what the pool does for functions' secrets (scheduler/secrets): it asks for the
// values at every instance start, through Config.Secrets, and replaces a function's instances
// when they change.

// SecretsFunc returns a function's secret values for one instance start (nil when it has
// none). An error fails the start.
type SecretsFunc func(ctx context.Context, function string) (instance.SecretValues, error)

// RestartFunction replaces every instance of the function, as a deploy of a new version
// does: each takes no new call and stops once its calls in flight are done, and new calls
// start new instances (min_instances are started at once), which read the function's secrets
// as they are now. Instances of other versions served under the name (entries "NAME@N") are
// replaced too. An unknown function is ignored.
func (p *Pool) RestartFunction(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for entry, f := range p.fns {
		if entry != name && baseName(entry) != name {
			continue
		}
		for _, in := range f.instances {
			if in.state != stateDraining {
				p.drainLocked(f, in)
			}
		}
		p.log.Info("replacing the function's instances", "function", entry, "reason", "its secrets changed")
		p.discardPreparedLocked(f) // made with the old values (prepare.go)
		p.upkeepLocked(f, p.cfg.Now())
		f.broadcast()
	}
}

// secretsMode is how instances of s get their secrets, "" read as its default, files: a
// change of it needs new instances, as a change of env does.
func secretsMode(s api.FunctionSpec) string {
	if s.SecretsAs == "" {
		return api.SecretsFiles
	}
	return s.SecretsAs
}

// baseName is the function a pool entry serves: "NAME" for an entry "NAME@N" that serves
// another version of it.
func baseName(entry string) string {
	name, _, _ := strings.Cut(entry, "@")
	return name
}

// withSecrets adds the function's secret values to spec, when the pool has a source of them.
func (p *Pool) withSecrets(ctx context.Context, function string, spec instance.Spec) (instance.Spec, error) {
	if p.cfg.Secrets == nil {
		return spec, nil
	}
	vals, err := p.cfg.Secrets(ctx, baseName(function))
	if err != nil {
		return spec, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	spec.Secrets = vals
	return spec, nil
}
