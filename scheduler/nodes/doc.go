// Package nodes is the server's side of the cluster: it admits agents (hearth agent), holds
// their sessions, follows their heartbeats, keeps the nodes and join tokens in the store, and
// tells the pool when a node comes, goes, is drained, and what its agent reports of its
// instances. The wire protocol (paths, messages, the join token's form, the agent's API) is in
// agent/remote; this package is the server's half of it.
//
// # Trust
//
// The server keeps a cluster CA in <data dir>/cluster (PKI): ca.pem and ca-key.pem, made at
// first start, and the cluster listener's certificate, signed by it and remade at start when
// it lacks a host or nears its end. A join token, hjt_<id>_<secret>_<CA pin>, lets an agent
// check the listener before it has the CA (the pin is the SHA-256 of the CA certificate) and
// proves to the server that an admin let it in; only the SHA-256 of the secret is stored. A
// token may be used by any number of agents until it expires (30 minutes by default, 24 hours
// at most) or is revoked. Join trades it, with a CSR, for a node certificate whose CN is the
// node id the server assigns ("<name>-<8 hex>", one year). From then on the agent connects
// with that certificate; a connect is accepted only while the node is in the store, so
// removing a node shuts it out at once (there is no revocation list to keep).
//
// # The listener (Serve)
//
//	POST /v1/join     token, name, CSR  ->  node id, certificate, CA      (no client certificate)
//	GET  /v1/connect  Upgrade: hearth-agent/1  ->  101, then a yamux session (node certificate)
//
// On a session the agent opens the control stream and sends its hello; the server answers a
// welcome (the heartbeat interval) within HandshakeTimeout, then reads heartbeats and events.
// The server reaches the agent's API by opening streams (remote.Client). A second session of
// the same node replaces the first.
//
// # Node states
//
// A node is ready or draining (an admin's choice, stored: it survives restarts) while its agent
// is connected; disconnected when the session ended less than NodeTimeout ago (its instances
// keep serving; nothing new is placed there); down once it sent nothing for NodeTimeout (the
// pool drops its instances; a session that is still open but silent is closed). A node that
// connects again is ready or draining again, and the pool reconciles what it runs. Nodes read
// from the store at start are disconnected until they connect, and down if they do not within
// NodeTimeout. The state diagram is beside entry.state. One ticker checks every node's
// deadline; last-seen times are stored in batches.
//
// The server's in-process node (--dev, --driver nomad) is registered with AddLocal: always
// connected, never timed out, never stored, and it cannot be removed.
//
// # The pool
//
// The Manager tells the pool through Pool, in the order the states change, outside its lock:
// AddNode on every connect (then DrainNode(true) when the node is drained), NodeDisconnected,
// NodeLost, DrainNode, RemoveNode. The handle AddNode gives for a session is an agent.Watcher
// of the instance events the agent sends on it (events.go): the pool's watch gets a Resync at
// once (it lists the node then), each event after it in order (an agent's resync event as a
// Resync), and driver.ErrUnavailable once the session ended, after the pool was told of the end
// (NodeDisconnected, NodeLost, RemoveNode, or AddNode with the next session's handle).
//
// Where to read next: agent/remote (the protocol, the client), agent/daemon (the agent's side),
// scheduler/pool (what the nodes are for), scheduler/server (where the Manager is assembled).
package nodes
