package suggest

import "testing"

func TestClosest(t *testing.T) {
	fields := []string{"memory", "cpu", "timeout", "idle_timeout", "pause_timeout", "max_instances", "min_instances", "env"}
	for _, tt := range []struct{ word, want string }{
		{"memroy", "memory"},  // a swap
		{"memmory", "memory"}, // an insertion
		{"timout", "timeout"}, // a deletion
		{"idle-timeout", "idle_timeout"},
		{"max_instance", "max_instances"},
		{"cpus", "cpu"},
		{"envs", "env"},
		{"handler_name", ""}, // nothing near
		{"xyz", ""},
		{"memory", "memory"},
	} {
		if got := Closest(tt.word, fields); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "ab", 2}, {"ab", "ba", 1}, {"kitten", "sitting", 3}, {"memory", "memroy", 1},
	} {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
