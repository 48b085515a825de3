// Package node is the node agent: it implements agent.Agent on top of one driver. It adds what
// every driver needs and none should repeat: labels that tie each instance to this node, the
// readiness check (GET /_/ready) after a start, and the reconcile pass that removes leftovers of
// an earlier run of the same node.
//
// Where to read next: agent (the contract), agent/driver (what it drives), scheduler/pool (the
// caller).
package node
