// Package node is the node agent: it implements agent.Agent on top of one driver. It adds what
// every driver needs and none should repeat: labels that tie each instance to this node, the
// readiness check (GET /_/ready) after a start, and one image pull for all the starts that
// need it at once. What an earlier run left on the node is not its to judge: the server's
// pool adopts the instances a node lists, or stops them.
//
// When its driver reports instance changes as they happen (driver.Watcher), the node passes them
// on (agent.Watcher), so that the pool need not list it on a timer.
//
// Nothing in it assumes where an endpoint is: readiness is probed at the endpoint the driver
// returned, a container IP or a port the Docker driver published on the node's advertise
// address alike.
//
// Where to read next: agent (the contract), agent/driver (what it drives), scheduler/pool (the
// caller).
package node
