package node

// PullWaiters is how many starts wait for the pull of ref in progress on n (0 when none is).
func PullWaiters(n *Node, ref string) int {
	n.pullMu.Lock()
	defer n.pullMu.Unlock()
	if p := n.pulls[ref]; p != nil {
		return p.waiters
	}
	return 0
}
