package registry

import (
	"runtime"
	"testing"
)

func TestLockSerialisesOneName(t *testing.T) {
	r := &Registry{locks: map[string]*nameLock{}}
	unlock := r.lock("a")
	acquired := make(chan func())
	go func() { acquired <- r.lock("a") }()
	// Once the second caller waits, its entry counts two.
	for r.refs("a") != 2 {
		runtime.Gosched()
	}
	r.lock("b")() // another name does not wait
	select {
	case <-acquired:
		t.Fatal("a second caller took a held lock")
	default:
	}
	unlock()
	(<-acquired)()
	if len(r.locks) != 0 {
		t.Fatalf("lock entries left: %v", r.locks)
	}
}

func (r *Registry) refs(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.locks[name]; l != nil {
		return l.refs
	}
	return 0
}
