package registry

// LockCount is how many per-function locks r holds entries for.
func LockCount(r *Registry) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.locks)
}
