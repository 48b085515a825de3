// Package remotetest has what tests of the server-agent link share: a throwaway cluster CA that
// makes server certificates (chain [leaf, CA], as the cluster listener sends) and signs node
// CSRs as the server does. Tests only; the real CA is scheduler/nodes'.
package remotetest
