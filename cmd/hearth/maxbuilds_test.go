package main

import (
	"strings"
	"testing"

	"github.com/hearthfn/hearth/runtimes"
)

func TestMaxBuildsFlag(t *testing.T) {
	cat := runtimes.New()
	cmd := newServerCmd(cat)
	t.Setenv("HEARTH_MAX_BUILDS", "3")
	if err := envDefaults(cmd); err != nil {
		t.Fatal(err)
	}
	if n, err := cmd.Flags().GetInt("max-builds"); err != nil || n != 3 {
		t.Fatalf("--max-builds from HEARTH_MAX_BUILDS = %d, %v", n, err)
	}
	for n, ok := range map[int]bool{1: true, 2: true, 0: false, -1: false} {
		cfg, err := (&buildFlags{maxBuilds: n}).config("unix:///x.sock", cat)
		if ok != (err == nil) || ok && cfg.MaxBuilds != n {
			t.Errorf("--max-builds %d: config %+v, %v", n, cfg.MaxBuilds, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "--max-builds")) {
			t.Errorf("--max-builds %d: error %v does not name the flag", n, err)
		}
	}
}
