package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// WriteReference writes the command reference of root's tree as Markdown: every command that
// is not hidden, in the order of `help`, with its usage, description, examples and flags. The
// flags' defaults pass through clean first, so that a value that comes from the machine (its
// host name, the user's home) reads the same everywhere. docs/user/cli-reference.md is this
// output, checked by a test, so that it cannot drift from the code.
func WriteReference(w io.Writer, root *cobra.Command, clean func(string) string) error {
	if _, err := fmt.Fprintf(w, "# Command reference\n\nGenerated from the command tree (`go test ./cmd/hearth -run TestCLIReference -update`); do not edit by hand. [The CLI](cli.md) introduces the commands.\n"); err != nil {
		return err
	}
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if c.Hidden || c.Name() == "help" || (!c.IsAvailableCommand() && c != root) {
			return nil
		}
		if err := writeCommand(w, c, clean); err != nil {
			return err
		}
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root)
}

func writeCommand(w io.Writer, c *cobra.Command, clean func(string) string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s\n\n", c.CommandPath())
	if c.Short != "" {
		fmt.Fprintf(&b, "%s.\n\n", strings.TrimSuffix(c.Short, "."))
	}
	fmt.Fprintf(&b, "```\n%s\n```\n", c.UseLine())
	if len(c.Aliases) > 0 {
		fmt.Fprintf(&b, "\nAliases: %s\n", strings.Join(c.Aliases, ", "))
	}
	if c.Long != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.Long))
	}
	if c.Example != "" {
		fmt.Fprintf(&b, "\nExamples:\n\n```\n%s\n```\n", strings.TrimRight(c.Example, "\n"))
	}
	var flags []*pflag.Flag
	c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			flags = append(flags, f)
		}
	})
	if len(flags) > 0 {
		b.WriteString("\n| flag | default | meaning |\n| --- | --- | --- |\n")
		for _, f := range flags {
			name := "`--" + f.Name + "`"
			if f.Shorthand != "" {
				name = "`-" + f.Shorthand + "`, " + name
			}
			def := clean(f.DefValue)
			if def == "" || def == "[]" || def == "false" || def == "0" || def == "0s" {
				def = "-"
			} else {
				def = "`" + def + "`"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", name, def, strings.ReplaceAll(f.Usage, "|", "\\|"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
