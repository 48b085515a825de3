package testengine

import (
	"context"
	"strings"
	"testing"
)

func TestStartRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"no bridge prefix", Options{SubnetMin: 100, SubnetMax: 249}},
		{"empty range", Options{SubnetMin: 100, SubnetMax: 99, BridgePrefix: "hearth-eng"}},
		{"zero", Options{SubnetMin: 0, SubnetMax: 10, BridgePrefix: "hearth-eng"}},
		{"past 254", Options{SubnetMin: 200, SubnetMax: 255, BridgePrefix: "hearth-eng"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Start(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), "bad options") {
				t.Fatalf("Start = %v, %v; want a bad options error", e, err)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		line            string
		wantPID, wantPP int
		wantOK          bool
	}{
		{"42 (dockerd) S 1 42 42 0 -1", 42, 1, true},
		{"7 (a (b) c) R 3 7 7", 7, 3, true},
		{"9 (sh) Z", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		pid, ppid, ok := parseStat(tt.line)
		if pid != tt.wantPID || ppid != tt.wantPP || ok != tt.wantOK {
			t.Errorf("parseStat(%q) = %d, %d, %v; want %d, %d, %v", tt.line, pid, ppid, ok, tt.wantPID, tt.wantPP, tt.wantOK)
		}
	}
}
