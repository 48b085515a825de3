package api

// Info is the body of GET /v1/info: what the server is, whether its node can run functions, and
// what builds their images.
type Info struct {
	// Version is the server's build version.
	Version string `json:"version"`
	// Node is the id of the server's own node (server --dev).
	Node string `json:"node,omitempty"`
	// Driver names the node's driver and its engine's version, e.g. "docker 20.10.24".
	Driver string `json:"driver,omitempty"`
	// Nodes counts the nodes that run instances (the server's own and agents), NodesReady
	// those that take new ones now.
	Nodes      int `json:"nodes"`
	NodesReady int `json:"nodes_ready"`
	// Ready is false when the node's engine cannot be reached, or, for a server without a node
	// of its own, when no agent's node is ready; Problem says why.
	Ready   bool   `json:"ready"`
	Problem string `json:"problem,omitempty"`
	// Builder says what builds function images and where: "docker 20.10.24 at
	// unix:///var/run/docker.sock". The server builds on a Docker Engine whatever runs its
	// instances (a Nomad cluster too), so a deploy needs it reachable.
	Builder string `json:"builder,omitempty"`
	// BuilderReady is false when the builder's engine cannot be reached (deploys then fail
	// with "unavailable"); BuilderProblem says why.
	BuilderReady   bool   `json:"builder_ready"`
	BuilderProblem string `json:"builder_problem,omitempty"`
	// Registry is where built images are pushed and nodes pull them from, host[:port][/prefix];
	// empty when images stay in the builder's engine (a single machine).
	Registry string `json:"registry,omitempty"`
}
