package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// hostFirewall keeps the host's own addresses closed to the containers behind a bridge. Docker
// isolates bridges from each other in FORWARD, but a connection from a container to the host
// (its gateway, or any other address of the host) goes through INPUT, where Docker adds
// nothing: without this, every instance could call hearth's API and whatever else listens on
// the node.
//
// Published ports (Config.PublishAddr) need nothing here. Other hosts' connections to them are
// DNATed to the container and forwarded (FORWARD, not INPUT), or, on an engine without
// iptables, reach docker-proxy through the host's own interface, which these rules do not
// match; replies from the container are ESTABLISHED. An instance dialling a published port at
// the host's address is not DNATed (Docker leaves traffic from the bridge itself alone), so it
// comes in from the bridge and is refused like any other connection to the host.
type hostFirewall interface {
	// isolate refuses new connections from the bridge to the host; replies to the host's own
	// connections (hearth calling an instance) still pass. It is idempotent.
	isolate(ctx context.Context, bridge string) error
	// open removes what isolate installed for the bridge, if anything.
	open(ctx context.Context, bridge string) error
}

// hostChain is hearth's own chain, jumped to first thing in INPUT: one rule in the host's
// chain, whatever the number of networks, and a place an operator can read at a glance
// (iptables -L HEARTH-INPUT).
const hostChain = "HEARTH-INPUT"

// iptables is the hostFirewall of a Linux host, through the iptables command (nf_tables or
// legacy, whichever the host's iptables is). Rules go in only after a check that they are
// missing, so that restarts and several servers on one host do not pile them up; two servers
// racing may still add a rule twice, which changes nothing and open removes every copy.
// IPv4 only: Docker leaves IPv6 off in containers on networks that do not enable it, and
// hearth's do not.
type iptables struct{}

func (iptables) isolate(ctx context.Context, bridge string) error {
	if err := ensureChain(ctx); err != nil {
		return err
	}
	pruneGone(ctx)
	if err := ensureRule(ctx, "INPUT", true, "-j", hostChain); err != nil {
		return err
	}
	// The replies first: a REJECT before them would cut hearth's calls to its instances off.
	for _, rule := range bridgeRules(bridge) {
		if err := ensureRule(ctx, hostChain, false, rule...); err != nil {
			return err
		}
	}
	return nil
}

func (iptables) open(ctx context.Context, bridge string) error {
	if runIPTables(ctx, "-n", "-L", hostChain) != nil {
		return nil // never isolated on this host
	}
	for _, rule := range bridgeRules(bridge) {
		// Every copy (see iptables); a bound, in case -D were to keep succeeding.
		for range 100 {
			if runIPTables(ctx, append([]string{"-D", hostChain}, rule...)...) != nil {
				break
			}
		}
	}
	return nil
}

// bridgeRules are the rules for one bridge, in order.
func bridgeRules(bridge string) [][]string {
	return [][]string{
		{"-i", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"},
		// REJECT rather than DROP: a function that tries gets "connection refused" at once
		// instead of hanging until its own timeout.
		{"-i", bridge, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"},
	}
}

// pruneGone removes the rules of bridges that no longer exist (their networks were removed),
// which would otherwise pile up over the life of a host. A bridge exists before its rules go
// in, so a rule whose interface is missing is one whose network is gone.
func pruneGone(ctx context.Context) {
	cmd := exec.CommandContext(ctx, iptablesPath(), "-w", "5", "-S", hostChain)
	out, err := cmd.Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		args := strings.Fields(line)
		if len(args) < 4 || args[0] != "-A" || args[2] != "-i" {
			continue
		}
		if _, err := os.Stat("/sys/class/net/" + filepath.Base(args[3])); errors.Is(err, fs.ErrNotExist) {
			_ = runIPTables(ctx, append([]string{"-D"}, args[1:]...)...)
		}
	}
}

func ensureChain(ctx context.Context) error {
	if runIPTables(ctx, "-n", "-L", hostChain) == nil {
		return nil
	}
	err := runIPTables(ctx, "-N", hostChain)
	if err != nil && runIPTables(ctx, "-n", "-L", hostChain) == nil {
		return nil // another server made it meanwhile
	}
	return err
}

// ensureRule adds rule to chain unless it is there: first in the chain when first is set,
// else last.
func ensureRule(ctx context.Context, chain string, first bool, rule ...string) error {
	if runIPTables(ctx, append([]string{"-C", chain}, rule...)...) == nil {
		return nil
	}
	if first {
		return runIPTables(ctx, append([]string{"-I", chain, "1"}, rule...)...)
	}
	return runIPTables(ctx, append([]string{"-A", chain}, rule...)...)
}

// iptablesPath finds the iptables command: on $PATH, else where Debian and others install it,
// since a service's $PATH does not always have the sbin directories.
func iptablesPath() string {
	if p, err := exec.LookPath("iptables"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/iptables", "/sbin/iptables"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "iptables" // and the error says it is missing
}

// runIPTables runs one iptables command, waiting for the xtables lock (Docker takes it too).
func runIPTables(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, iptablesPath(), append([]string{"-w", "5"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
