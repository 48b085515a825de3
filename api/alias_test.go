package api

import (
	"errors"
	"testing"
)

func TestSplitTarget(t *testing.T) {
	for _, tc := range []struct{ in, name, sel string }{
		{"hello", "hello", ""},
		{"hello@live", "hello", "live"},
		{"hello@3", "hello", "3"},
		{"hello@", "hello", ""},
	} {
		if name, sel := SplitTarget(tc.in); name != tc.name || sel != tc.sel {
			t.Errorf("SplitTarget(%q) = %q, %q; want %q, %q", tc.in, name, sel, tc.name, tc.sel)
		}
	}
	for in, want := range map[string]int{"3": 3, "12": 12} {
		if n, ok := VersionSelector(in); !ok || n != want {
			t.Errorf("VersionSelector(%q) = %d, %v", in, n, ok)
		}
	}
	for _, in := range []string{"", "live", "v3", "3a"} {
		if _, ok := VersionSelector(in); ok {
			t.Errorf("VersionSelector(%q) says it is a version", in)
		}
	}
}

func TestValidateAliasName(t *testing.T) {
	for _, ok := range []string{"live", "canary-2", "a", "abcdefghijklmnopqrstuvwxyz012345"} {
		if err := ValidateAliasName(ok); err != nil {
			t.Errorf("ValidateAliasName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "3", "Live", "-x", "live_1", "abcdefghijklmnopqrstuvwxyz0123456", "a@b"} {
		err := ValidateAliasName(bad)
		var ae *AliasError
		if !errors.As(err, &ae) || ae.Field != "alias" || !errors.Is(err, ErrInvalidAlias) {
			t.Errorf("ValidateAliasName(%q): %v, want an AliasError on alias", bad, err)
		}
	}
}
