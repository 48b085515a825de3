package buildctx

import (
	"strings"
	"testing"
)

func TestIgnoreMatch(t *testing.T) {
	tests := []struct {
		rules string
		name  string
		isDir bool
		want  bool
	}{
		{"", "a.go", false, false},
		{"# comment\n\n", "# comment", false, false},
		{"*.log", "debug.log", false, true},
		{"*.log", "deep/in/debug.log", false, true},
		{"*.log", "debug.log.txt", false, false},
		{"tmp", "tmp", true, true},
		{"tmp", "a/tmp", true, true},
		{"tmp", "a/tmp", false, true},
		{"tmp/", "tmp", true, true},
		{"tmp/", "tmp", false, false},
		{"tmp/", "a/tmp", true, true},
		{"/build", "build", true, true},
		{"/build", "sub/build", true, false},
		{"docs/*.md", "docs/a.md", false, true},
		{"docs/*.md", "docs/sub/a.md", false, false},
		{"docs/*.md", "x/docs/a.md", false, false},
		{"**/testdata", "testdata", true, true},
		{"**/testdata", "a/b/testdata", true, true},
		{"a/**/z", "a/z", false, true},
		{"a/**/z", "a/b/c/z", false, true},
		{"a/**/z", "b/a/z", false, false},
		{"a/**", "a", true, false},
		{"a/**", "a/b", false, true},
		{"a/**", "a/b/c", false, true},
		{"*.log\n!keep.log", "keep.log", false, false},
		{"*.log\n!keep.log", "other.log", false, true},
		{"!keep.log\n*.log", "keep.log", false, true}, // the last matching rule wins
		{"*.log\n!keep.log\nkeep.log", "keep.log", false, true},
		{`\#hash`, "#hash", false, true},
		{`\!bang`, "!bang", false, true},
		{"secret.txt   ", "secret.txt", false, true},
		{"secret.txt\r", "secret.txt", false, true},
		{"a?c", "abc", false, true},
		{"[ab]c", "bc", false, true},
		{"/", "anything", false, false},
		{"!", "anything", false, false},
	}
	for _, tt := range tests {
		ig, err := ParseIgnore([]byte(tt.rules))
		if err != nil {
			t.Fatalf("ParseIgnore(%q): %v", tt.rules, err)
		}
		if got := ig.Match(tt.name, tt.isDir); got != tt.want {
			t.Errorf("rules %q: Match(%q, dir=%v) = %v, want %v", tt.rules, tt.name, tt.isDir, got, tt.want)
		}
	}
}

func TestIgnoreBadPattern(t *testing.T) {
	_, err := ParseIgnore([]byte("ok\n[unclosed\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("ParseIgnore(bad) = %v, want an error naming line 2", err)
	}
}

func TestNilIgnore(t *testing.T) {
	var ig *Ignore
	if ig.Match("x", false) {
		t.Fatal("nil Ignore excluded something")
	}
}
