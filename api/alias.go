package api

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Alias is a named route to one or more versions of a function, each taking a share of the
// calls: "live" at 3=90 4=10 sends nine calls in ten to version 3. It is invoked as
// /invoke/NAME@ALIAS, and /invoke/NAME follows it when it is the function's default alias.
type Alias struct {
	Name string `json:"name"`
	// Weights are the versions the alias routes to, with their shares of 100.
	Weights []AliasWeight `json:"weights"`
	// Default is true when /invoke/NAME follows this alias (Function.DefaultAlias).
	Default   bool      `json:"default,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AliasWeight is one version's share of an alias's calls, in percent.
type AliasWeight struct {
	Version int `json:"version"`
	Weight  int `json:"weight"`
}

// AliasList is the body of GET /v1/functions/{name}/aliases, sorted by name.
type AliasList struct {
	Items []Alias `json:"items"`
}

// AliasRequest is the body of PUT /v1/functions/{name}/aliases/{alias}.
type AliasRequest struct {
	Weights []AliasWeight `json:"weights"`
}

// RollbackRequest is the body of POST /v1/functions/{name}/rollback. Version 0 (or absent)
// means the newest version older than the current one.
type RollbackRequest struct {
	Version int `json:"version,omitempty"`
}

// DefaultAliasRequest is the body of PUT /v1/functions/{name}/default-alias; "" clears it, so
// that /invoke/NAME calls the current version again.
type DefaultAliasRequest struct {
	Alias string `json:"alias"`
}

// Routing is how calls to one function are routed, as the router needs it on every call: the
// current version, the default alias ("" for none) and every alias's weights. Values are never
// changed once made: a change makes a new Routing.
type Routing struct {
	Current int
	Default string
	Aliases map[string][]AliasWeight
}

// MaxAliasVersions is how many versions one alias may route to. Two is a canary; more than a
// handful is no rollout anyone can follow.
const MaxAliasVersions = 5

// ErrInvalidAlias: an alias name or weights that cannot be used (AliasError says which field).
var ErrInvalidAlias = errors.New("invalid alias")

// AliasError is a problem with an alias request; Field is "alias" or "weights".
type AliasError struct {
	Field, Reason string
}

func (e *AliasError) Error() string { return e.Reason }

// Unwrap returns ErrInvalidAlias.
func (e *AliasError) Unwrap() error { return ErrInvalidAlias }

// InvalidField names the request field at fault, for the API's error body.
func (e *AliasError) InvalidField() string { return e.Field }

var aliasPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// ValidateAliasName checks an alias's name: a lowercase letter, then up to 31 lowercase
// letters, digits and '-'. A name is never a number, so that NAME@3 always means version 3.
func ValidateAliasName(alias string) error {
	if !aliasPattern.MatchString(alias) {
		return &AliasError{Field: "alias", Reason: fmt.Sprintf(
			"alias %q must start with a lowercase letter and have up to 32 lowercase letters, digits and '-' (a number names a version, not an alias)", alias)}
	}
	return nil
}

// ValidateWeights checks an alias's weights on their own (whether the versions exist is the
// registry's business): 1 to MaxAliasVersions entries, each version named once and above 0,
// each weight from 0 to 100, summing to 100.
func ValidateWeights(ws []AliasWeight) error {
	bad := func(format string, args ...any) error {
		return &AliasError{Field: "weights", Reason: fmt.Sprintf(format, args...)}
	}
	if len(ws) == 0 {
		return bad("an alias needs at least one version, such as 3=100")
	}
	if len(ws) > MaxAliasVersions {
		return bad("an alias routes to at most %d versions, not %d", MaxAliasVersions, len(ws))
	}
	seen := map[int]bool{}
	sum := 0
	for _, w := range ws {
		switch {
		case w.Version < 1:
			return bad("version %d: versions are numbered from 1", w.Version)
		case seen[w.Version]:
			return bad("version %d is named twice", w.Version)
		case w.Weight < 0 || w.Weight > 100:
			return bad("version %d: weight %d must be from 0 to 100", w.Version, w.Weight)
		}
		seen[w.Version] = true
		sum += w.Weight
	}
	if sum != 100 {
		return bad("the weights add up to %d, not 100 (%s)", sum, FormatWeights(ws))
	}
	return nil
}

// FormatWeights writes weights as the CLI takes them: "3=90 4=10".
func FormatWeights(ws []AliasWeight) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = strconv.Itoa(w.Version) + "=" + strconv.Itoa(w.Weight)
	}
	return strings.Join(parts, " ")
}

// SplitTarget splits what an invoke URL names, "NAME", "NAME@ALIAS" or "NAME@3", into the
// function's name and the selector after "@" ("" when there is none). The name alone is what
// auth, logs, metrics and call records use.
func SplitTarget(target string) (name, selector string) {
	name, selector, _ = strings.Cut(target, "@")
	return name, selector
}

// VersionSelector reports whether a selector is a version number, and which.
func VersionSelector(selector string) (int, bool) {
	if selector == "" || selector[0] < '0' || selector[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(selector)
	return n, err == nil
}
