package pool

import "github.com/hearthfn/hearth/api"

// learnedKeepAlive lays over ka what the learning keep-alive policy (keepalive.go) applies to
// the named function: its windows once it has learned them, else why it has not. It takes the
// pool's lock itself, so the caller must not hold it. It is the one place the cost report reads
// that policy: without the policy, its body goes and the configured timeouts are reported,
// labelled as such.
func (p *Pool) learnedKeepAlive(name string, ka *api.KeepAlive) {
	st, ok := p.KeepAlive(name)
	if !ok {
		return
	}
	ka.Samples, ka.Why = st.Samples, st.Why
	if st.Learned {
		ka.Source, ka.PreWarm, ka.Window, ka.Why = api.KeepAliveLearned, api.Duration(st.PreWarm), api.Duration(st.KeepAlive), ""
	}
}
