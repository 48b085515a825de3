package api

// Info is the body of GET /v1/info: what the server is and whether its node can run functions.
type Info struct {
	// Version is the server's build version.
	Version string `json:"version"`
	// Node is the id of the server's own node (server --dev).
	Node string `json:"node,omitempty"`
	// Driver names the node's driver and its engine's version, e.g. "docker 20.10.24".
	Driver string `json:"driver,omitempty"`
	// Ready is false when the node's engine cannot be reached; Problem says why.
	Ready   bool   `json:"ready"`
	Problem string `json:"problem,omitempty"`
}
