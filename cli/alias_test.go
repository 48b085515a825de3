package cli

import (
	"testing"

	"github.com/hearthfn/hearth/api"
)

func TestParseWeights(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // FormatWeights of the result, or the error
	}{
		{[]string{"3=90", "4=10"}, "3=90 4=10"},
		{[]string{"4"}, "4=100"},
		{[]string{"4=100"}, "4=100"},
		{[]string{"3=50", "4=50", "5=0"}, "3=50 4=50 5=0"},
		{[]string{"3", "4"}, `"3" has no weight: with several versions, give each one's share, such as 3=90 4=10`},
		{[]string{"3=90", "4=20"}, "the weights add up to 110, not 100 (3=90 4=20)"},
		{[]string{"live=100"}, `"live=100": give VERSION=WEIGHT, such as 3=90, or one VERSION alone for every call`},
		{[]string{"3=ninety"}, `"3=ninety": the weight must be a whole number from 0 to 100, such as 3=90`},
		{[]string{"3=50", "3=50"}, "version 3 is named twice"},
		{[]string{"0"}, "version 0: versions are numbered from 1"},
		{[]string{"1=20", "2=20", "3=20", "4=20", "5=10", "6=10"}, "an alias routes to at most 5 versions, not 6"},
	} {
		ws, err := parseWeights(tc.args)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = api.FormatWeights(ws)
		}
		if got != tc.want {
			t.Errorf("parseWeights(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestAliasesField(t *testing.T) {
	f := api.Function{Name: "hello", DefaultAlias: "live", Aliases: []api.Alias{
		{Name: "beta", Weights: []api.AliasWeight{{Version: 4, Weight: 100}}},
		{Name: "live", Weights: []api.AliasWeight{{Version: 3, Weight: 90}, {Version: 4, Weight: 10}}, Default: true},
	}}
	if got, want := aliasesField(f), "beta 4=100, live 3=90 4=10 (default: /invoke/hello follows it)"; got != want {
		t.Fatalf("aliasesField = %q, want %q", got, want)
	}
}
