// Package remote is the link between the server and a node's agent (hearth agent): the shared
// wire definitions of joining and connecting, the control stream's messages, the agent's HTTP
// API served over the session (Serve), and its client, which implements agent.Agent (Client).
//
// # Joining (join.go)
//
// An admin makes a join token, hjt_<16 hex id>_<64 hex secret>_<64 hex CA pin> (JoinToken).
// The agent dials the server's cluster listener over TLS, accepting only a chain that leads to
// the pinned CA (PinnedTLSConfig), and POSTs JoinPath with a JoinRequest (token, name, a PEM
// CSR for an ECDSA P-256 key). The server answers a JoinResponse: the node id it assigned, the
// node's certificate (CN = node id, client auth) and the CA certificate. Errors are an
// ErrorBody: 401 join_token_invalid or join_token_expired, 400 bad_request.
//
// # Connecting (upgrade.go)
//
// The agent dials the cluster listener with its node certificate, verifying the server with the
// CA, and sends GET ConnectPath with "Connection: Upgrade" and "Upgrade: hearth-agent/1"
// (DialUpgrade). The server checks that the certificate's CN is a node it knows (401
// node_unknown otherwise) and answers 101 Switching Protocols (AcceptUpgrade). From then on the
// TLS connection carries a hashicorp/yamux session: the agent is the yamux client, the server
// the yamux server; both open streams.
//
// # The control stream (messages.go)
//
// Right after connecting, the agent opens one stream and writes newline-delimited JSON
// Messages, each {"type": ..., "version": 1, "<type>": {...}}: first a hello (node id, name,
// labels, advertise address, hearth version, agent.NodeInfo); the server answers one welcome
// (the heartbeat interval) on the same stream. Then the agent sends a heartbeat every interval
// (with the node info when it changed, and at least every 10 s) and an event whenever one of its
// instances changes state or vanishes.
//
// # The agent's API (server.go, client.go)
//
// Every other stream is opened by the server and carries HTTP/1.1 to the agent (URL host
// "agent"):
//
//	GET    /v1/info                        agent.NodeInfo
//	POST   /v1/instances                   instance.Spec -> instance.Instance (waits until ready)
//	GET    /v1/instances                   []instance.Status
//	POST   /v1/instances/{id}/pause
//	POST   /v1/instances/{id}/resume
//	DELETE /v1/instances/{id}
//	GET    /v1/instances/{id}/logs?follow=&tail=&since=&stream=&timestamps=   text, flushed per write
//
// Errors are an ErrorBody whose code names the sentinel (errors.go): not_ready, unavailable,
// image_not_found, instance_not_found, not_supported, no_capacity, else internal. The Client
// rebuilds an error that errors.Is matches against the same sentinel, with the agent's message;
// when the session is gone every call fails with driver.ErrUnavailable.
//
// Where to read next: agent (the contract served and implemented here), agent/daemon (the agent
// process: join, connect, heartbeats, events), scheduler/nodes (the server side).
package remote
