package api_test

import (
	"testing"

	"github.com/hearthfn/hearth/api"
)

func TestWithDefaultsHardening(t *testing.T) {
	s := api.FunctionSpec{Name: "hello", Runtime: "go"}.WithDefaults()
	if s.TmpSizeMB != api.DefaultTmpSizeMB || s.PidsLimit != api.DefaultPidsLimit || s.NoFile != api.DefaultNoFile {
		t.Errorf("defaults: tmp %d MB, pids %d, nofile %d", s.TmpSizeMB, s.PidsLimit, s.NoFile)
	}
	if s.User != "" || s.WritableRoot || s.Network != "" || s.CapAdd != nil {
		t.Errorf("the secure defaults are the zero values, got %+v", s)
	}
	// /tmp is charged to the function's memory: with less memory than the default size, it
	// gets the memory's size.
	if s := (api.FunctionSpec{MemoryMB: 32}).WithDefaults(); s.TmpSizeMB != 32 {
		t.Errorf("tmp with 32 MB of memory = %d MB, want 32", s.TmpSizeMB)
	}
	if s := (api.FunctionSpec{MemoryMB: 32, TmpSizeMB: 8}).WithDefaults(); s.TmpSizeMB != 8 {
		t.Errorf("an explicit tmp size was replaced: %d", s.TmpSizeMB)
	}
}
