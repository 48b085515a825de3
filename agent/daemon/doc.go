// Package daemon is the `hearth agent` process: it joins a node to a server's cluster once, then
// keeps a session with the server and serves the node's agent.Agent over it.
//
// Joining (Join): the join token is parsed before anything touches the network; the agent makes
// an ECDSA P-256 key and a CSR, POSTs them with the token to the server's remote.JoinPath over
// TLS that must lead to the CA the token pins, and keeps what it gets in its data directory:
//
//	key.pem   the node's private key (0600; it never leaves the host)
//	cert.pem  the node's certificate, CN = node id, signed by the cluster CA
//	ca.pem    the cluster CA, which the server's certificate must chain to from now on
//	node-id   the node id the server assigned, written last: its presence means "joined"
//
// A data directory that holds a credential skips the join, so a restart reattaches as the same
// node whether or not the token still works.
//
// The session (Run): the agent dials the server with its certificate, upgrades the connection
// (remote.DialUpgrade) and runs a yamux client on it. On the control stream it sends hello,
// reads welcome, then sends heartbeats (the node's info when it changed, or every 10 s) and an
// event for every instance whose state changed, or that vanished, in a way the server did not
// ask for. Those come from the driver's own event stream when it has one (agent.Watcher: the
// Docker driver's), preceded by a resync event (remote.ReasonResync) each time the stream
// (re)opens, upon which the server lists the node once; a driver without one is listed every
// 500 ms instead, and the listings diffed. remote.Serve answers the server's calls on the
// other streams. When the session breaks, the agent dials again after a backoff (200 ms doubling
// to 5 s, jittered), until its ctx ends. A server that no longer knows the node (401
// node_unknown) ends Run with ErrNodeRemoved: only a new join brings the node back.
//
// The agent never stops instances on its own, at start or on a lost session: the server decides
// whether to adopt or stop them when it sees the node again.
//
// Where to read next: agent/remote (the wire protocol), scheduler/nodes (the server side),
// cmd/hearth/agent.go (the flags and the driver plugin).
package daemon
