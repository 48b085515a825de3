package cli

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
	"github.com/hearthfn/hearth/runtimes"
)

// completionTimeout bounds how long a completion waits for the server: the shell is frozen
// while it waits, and no names at once is better than names after a pause.
const completionTimeout = time.Second

// addCompletion attaches cobra's "completion" command to root and gives every -o flag in the
// tree its values. Commands complete their own arguments and other flags (ValidArgsFunction and
// RegisterFlagCompletionFunc beside their flags, with the functions below).
func addCompletion(root *cobra.Command) {
	// Cobra would add the command itself, but only while the tree runs: added now, it is in
	// the tree that help and the generated docs see.
	root.InitDefaultCompletionCmd()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		// Found by the flag's type rather than its name, so that every command given -o later
		// completes it too.
		if f := c.Flags().Lookup("output"); f != nil {
			if _, ok := f.Value.(*output.Format); ok {
				if _, done := c.GetFlagCompletionFunc("output"); !done {
					_ = c.RegisterFlagCompletionFunc("output", fixedChoices(string(output.Text), string(output.JSON)))
				}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// fixedChoices completes a flag whose value is one of choices. Unlike cobra.FixedCompletions
// it keeps only those that start with what was typed, as the other completions do.
func fixedChoices(choices ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix(choices, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// withPrefix returns the choices that start with prefix.
func withPrefix(choices []string, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range choices {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// completeMethod completes invoke's --method with the methods a function is usually called with.
func completeMethod() cobra.CompletionFunc {
	return fixedChoices("GET", "POST", "PUT", "PATCH", "DELETE")
}

// completeRole completes token create's --role.
func completeRole() cobra.CompletionFunc {
	var roles []string
	for _, r := range api.Roles {
		roles = append(roles, string(r))
	}
	return fixedChoices(roles...)
}

// completeCallStatus completes calls' --status.
func completeCallStatus() cobra.CompletionFunc {
	var statuses []string
	for _, s := range []api.CallStatus{api.CallQueued, api.CallRunning, api.CallSucceeded,
		api.CallFailed, api.CallTimedOut, api.CallError, api.CallCanceled} {
		statuses = append(statuses, string(s))
	}
	return fixedChoices(statuses...)
}

// completeFunctionArg completes the first argument of a command that takes a function's name,
// with the names the server knows.
func (a *app) completeFunctionArg(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.functionNames(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeFunctionFlag completes a flag whose value is a function's name (token create
// --function).
func (a *app) completeFunctionFlag(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.functionNames(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// functionNames asks the server (the one cmd's --api chooses, as the command itself would)
// for the functions whose names start with prefix. Any failure (no server, no token, a slow
// answer) gives no names and prints nothing: completion runs on every TAB, where an error
// message would land in the middle of the user's command line.
func (a *app) functionNames(cmd *cobra.Command, prefix string) []cobra.Completion {
	// Cobra has parsed the command's flags before asking, so --api is already set.
	apiURL, _ := cmd.Flags().GetString("api")
	c, err := a.client(remote{api: apiURL})
	if err != nil {
		return nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	fns, err := c.ListFunctions(ctx)
	if err != nil {
		return nil
	}
	var names []string
	for _, f := range fns {
		names = append(names, f.Name)
	}
	return withPrefix(names, prefix)
}

// completeRuntime completes init's --runtime from the catalog init writes scaffolds from, with
// each runtime's description when the catalog has them.
func (a *app) completeRuntime(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cat := a.opts.Runtimes
	if cat == nil {
		cat = CatalogRuntimes(runtimes.New())
	}
	var out []cobra.Completion
	if lister, ok := cat.(runtimeLister); ok {
		for _, r := range lister.Runtimes() {
			if strings.HasPrefix(r.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(r.Name, r.Description))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	return withPrefix(cat.Names(), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeConfigArg completes config's arguments: the function's name, then setting keys as
// "KEY=" (and "env." for a variable) with no space after, so that the value follows directly.
// Keys already given are left out, since config refuses a key given twice.
func (a *app) completeConfigArg(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return a.completeFunctionArg(cmd, args, toComplete)
	}
	if strings.Contains(toComplete, "=") {
		// A value is being typed: there is nothing to offer for it.
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	given := map[string]bool{}
	for _, arg := range args[1:] {
		key, _, _ := strings.Cut(arg, "=")
		given[cmp.Or(api.DeprecatedConfigKeys[key], key)] = true
	}
	var keys []string
	for _, k := range settingKeys() {
		switch {
		case strings.HasPrefix(k, "env."):
			// Each variable is its own key, so env. stays on offer.
			keys = append(keys, "env.")
		case !given[k]:
			keys = append(keys, k+"=")
		}
	}
	return withPrefix(keys, toComplete), cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}
