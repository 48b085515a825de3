package nomad

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/instance"
)

// This file delivers a function's secrets (instance.Spec.Secrets) to its task:
//   - as files (the default): one template per secret, rendered into the task's secrets/
//     directory (which Nomad keeps in memory and out of other tasks' reach), owned by the task's
//     user with mode 0400, and that directory bind-mounted read-only at /run/secrets. The
//     template carries the value base64-encoded, so no value is read as template syntax;
//   - as environment variables (secrets: env): in the task's env, over the function's own
//     entries of the same name (a secret wins), never over PORT.
//
// Either way the values are part of the job Nomad stores: whoever may read the job through
// Nomad's API (its ACLs) may read them (docs/operator/nomad.md).

// secretsTaskDir is the task's in-memory secrets directory, relative to the task directory.
const secretsTaskDir = "secrets"

// addSecrets puts spec's secrets in the task: env entries, or templates and the mount that
// shows them at /run/secrets. user is the task's numeric "uid:gid".
func addSecrets(task *api.Task, cfg map[string]any, spec instance.Spec, user string) error {
	if len(spec.Secrets) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(spec.Secrets))
	if spec.SecretsAs == instance.SecretsEnv {
		for _, k := range keys {
			if k != "PORT" { // the contract's PORT wins, as over spec.Env
				task.Env[k] = string(spec.Secrets[k])
			}
		}
		return nil
	}
	uid, gid, err := numericUser(user)
	if err != nil {
		return err
	}
	for _, k := range keys {
		data := fmt.Sprintf(`{{ base64Decode %q }}`, base64.StdEncoding.EncodeToString(spec.Secrets[k]))
		task.Templates = append(task.Templates, &api.Template{
			EmbeddedTmpl: new(data),
			DestPath:     new(secretsTaskDir + "/" + k),
			Perms:        new("0400"),
			Uid:          new(uid),
			Gid:          new(gid),
			ChangeMode:   new("noop"),
		})
	}
	mounts, _ := cfg["mount"].([]map[string]any)
	cfg["mount"] = append(mounts, map[string]any{
		"type":     "bind",
		"source":   secretsTaskDir, // relative: the task's own directory, allowed without volumes
		"target":   instance.SecretsDir,
		"readonly": true,
	})
	return nil
}

// numericUser reads "uid:gid" as runAs makes it.
func numericUser(user string) (uid, gid int, err error) {
	u, g, _ := strings.Cut(user, ":")
	if uid, err = strconv.Atoi(u); err == nil {
		gid, err = strconv.Atoi(g)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("secrets as files need a numeric user to own them, not %q", user)
	}
	return uid, gid, nil
}
