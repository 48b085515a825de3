package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/pflag"
)

// nodeFlags choose what runs the server's instances: a node on the local Docker Engine (--dev),
// or one node that stands for a whole Nomad cluster (--driver nomad). Either way the driver runs
// in a plugin process, the same executable re-run as `hearth __driver <name>`.
type nodeFlags struct {
	dev    bool
	driver string

	// Docker (--dev).
	instanceNetwork    string
	instancesReachHost bool

	// Nomad (--driver nomad). The NOMAD_* variables Nomad's own CLI reads are the defaults;
	// the plugin reads them too, so a flag left unset passes nothing.
	nomadAddr, nomadToken, nomadRegion, nomadNamespace string
	nomadDatacenters                                   []string
}

func (n *nodeFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&n.dev, "dev", false, "run a node on the local Docker Engine in the server process")
	f.StringVar(&n.driver, "driver", "", "what runs instances: docker (with --dev) or nomad (a Nomad cluster, see --nomad-addr)")
	f.StringVar(&n.instanceNetwork, "instance-network", "hearth",
		"the Docker network instances join; hearth makes it, with traffic between instances off")
	f.BoolVar(&n.instancesReachHost, "instances-reach-host", false,
		"let instances open connections to this machine's own addresses (hearth's API included) through their network's gateway")
	f.StringVar(&n.nomadAddr, "nomad-addr", "", "the Nomad API (default $NOMAD_ADDR, else http://127.0.0.1:4646)")
	f.StringVar(&n.nomadToken, "nomad-token", "", "the Nomad ACL token (default $NOMAD_TOKEN; prefer the variable: a flag shows in ps)")
	f.StringVar(&n.nomadRegion, "nomad-region", "", "the Nomad region (default $NOMAD_REGION, else the agent's)")
	f.StringVar(&n.nomadNamespace, "nomad-namespace", "", "the Nomad namespace jobs go in (default $NOMAD_NAMESPACE, else default)")
	f.StringSliceVar(&n.nomadDatacenters, "nomad-datacenters", nil, "the datacenters jobs may run in (default: all)")
}

// name returns the driver to run, after checking that the flags go together: "" for a server
// whose instances all run on agents (cluster says it listens for them).
func (n *nodeFlags) name(cluster bool) (string, error) {
	switch {
	case cluster && !n.dev && n.driver == "":
		return "", nil
	case n.dev && (n.driver == "" || n.driver == "docker"):
		return "docker", nil
	case n.dev:
		return "", fmt.Errorf("--dev runs instances on the local Docker Engine; --driver %s would run them elsewhere: choose one", n.driver)
	case n.driver == "nomad":
		return "nomad", nil
	case n.driver == "" || n.driver == "docker":
		return "", errors.New("hearth server needs a node to run instances on: --dev (the local Docker Engine), --driver nomad (a Nomad cluster), or --cluster-addr for hearth agents on other Docker hosts (docs/operator/cluster.md)")
	}
	return "", fmt.Errorf("--driver %q: use docker (with --dev) or nomad", n.driver)
}

// command returns how the plugin of the named driver is started.
func (n *nodeFlags) command(exe, dockerHost, logLevel string, extra []string) func(name string) *exec.Cmd {
	return func(name string) *exec.Cmd {
		args := []string{"__driver", name, "--log-level", logLevel}
		switch name {
		case "docker":
			args = append(args, "--docker-host", dockerHost, "--network", n.instanceNetwork,
				fmt.Sprintf("--reach-host=%t", n.instancesReachHost))
		case "nomad":
			for flag, v := range map[string]string{"--nomad-addr": n.nomadAddr, "--nomad-region": n.nomadRegion,
				"--nomad-namespace": n.nomadNamespace, "--nomad-datacenters": strings.Join(n.nomadDatacenters, ",")} {
				if v != "" {
					args = append(args, flag, v)
				}
			}
		}
		cmd := exec.Command(exe, append(args, extra...)...)
		cmd.Env = os.Environ()
		if name == "nomad" && n.nomadToken != "" {
			// Through the environment, not the command line, which any user of the machine can
			// read in ps.
			cmd.Env = append(cmd.Env, "NOMAD_TOKEN="+n.nomadToken)
		}
		return cmd
	}
}

// engineHint names, for messages, what runs instances.
func (n *nodeFlags) engineHint(driver, dockerHost string) string {
	if driver != "nomad" {
		return dockerHost
	}
	if n.nomadAddr != "" {
		return "Nomad at " + n.nomadAddr
	}
	if a := os.Getenv("NOMAD_ADDR"); a != "" {
		return "Nomad at " + a
	}
	return "Nomad at http://127.0.0.1:4646"
}
