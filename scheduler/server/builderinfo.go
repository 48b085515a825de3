package server

import (
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
)

// withBuilder adds to info what builds function images and where they go. The server builds
// on a Docker Engine whatever runs its instances, a Nomad cluster included: an operator who
// sees only Nomad must learn from /v1/info that deploys also need that engine.
func withBuilder(info api.Info, st builder.Status) api.Info {
	info.Builder = st.Engine
	if st.Host != "" {
		info.Builder += " at " + st.Host
	}
	info.BuilderReady = st.Problem == ""
	info.BuilderProblem = st.Problem
	info.Registry = st.Registry
	return info
}
