// Package node is the node agent: it implements agent.Agent on top of one driver. It adds what
// every driver needs and none should repeat: labels that tie each instance to this node, the
// readiness check (GET /_/ready) after a start, one image pull for all the starts that need it
// at once, and a reconcile pass that removes every instance of the node (which the server no
// longer runs at start: its pool adopts the instances a node lists, see Node.Reconcile).
//
// Nothing in it assumes where an endpoint is: readiness is probed at the endpoint the driver
// returned, a container IP or a port the Docker driver published on the node's advertise
// address alike.
//
// Where to read next: agent (the contract), agent/driver (what it drives), scheduler/pool (the
// caller).
package node
