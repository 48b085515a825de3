package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) secretCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "secret",
		Aliases: []string{"secrets"},
		Short:   "Set, list and remove a function's secrets",
		Long: `Secrets are values a function needs but its source and func.yaml must not hold: API keys,
passwords. The server keeps them encrypted, and gives them to the function's instances as
files under /run/secrets (the default) or as environment variables (secrets: env in
func.yaml). No command and no API answer ever shows a value again.

Setting or removing a secret replaces the function's instances as a deploy does: calls in
flight finish, and the next calls run on instances with the new values. The function must be
deployed first; deleting it deletes its secrets. See docs/user/secrets.md.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.secretSetCmd(), a.secretListCmd(), a.secretRmCmd())
	return cmd
}

func (a *app) secretSetCmd() *cobra.Command {
	var (
		r        remote
		fromFile string
	)
	cmd := &cobra.Command{
		Use:   "set NAME KEY [--from-file FILE]",
		Short: "Set a secret from stdin or a file (never from the command line)",
		Long: `Set the function's secret KEY. The value is read from --from-file, byte for byte, or else
from stdin: piped, with one trailing newline dropped (the one echo adds); on a terminal, typed
without echo. It is never taken as an argument, where it would stay in the shell's history and
show in ps.

KEY is named like an environment variable (letters, digits and _, not starting with a digit;
not PORT); a value may be up to 64 KiB.`,
		Example: `  printf %s "$STRIPE_KEY" | hearth secret set shop STRIPE_KEY
  hearth secret set shop TLS_KEY --from-file ./tls.key
  hearth secret set shop DB_PASSWORD          # prompts, without echo`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 2 {
				// The extra argument is not repeated: it may well be the value.
				return usageErrorf("%s takes the value from stdin or --from-file, never as an argument (it would stay in the shell's history): printf %%s VALUE | %s NAME KEY",
					cmd.CommandPath(), cmd.CommandPath())
			}
			return exactArgs("NAME", "KEY")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runSecretSet(cmd.Context(), cmd, r, args[0], args[1], fromFile)
		},
	}
	cmd.Flags().StringVar(&fromFile, "from-file", "", "read the value from this file, byte for byte")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) runSecretSet(ctx context.Context, cmd *cobra.Command, r remote, name, key, fromFile string) error {
	value, err := a.secretValue(cmd, key, fromFile)
	if err != nil {
		return err
	}
	c, err := a.client(r)
	if err != nil {
		return err
	}
	if err := c.SetSecret(ctx, name, key, value); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: secret %s set; instances are replaced after their calls in flight\n", name, key)
	return nil
}

// errNoValue: there was nothing to read a secret's value from.
var errNoValue = errors.New("no value")

// secretValue reads the value to set: the file, else stdin (a terminal is prompted, without
// echo). It is checked against the size limit here, before anything is sent.
func (a *app) secretValue(cmd *cobra.Command, key, fromFile string) ([]byte, error) {
	var value []byte
	switch in := a.opts.Stdin; {
	case fromFile != "":
		b, err := os.ReadFile(a.path(fromFile))
		if err != nil {
			return nil, fmt.Errorf("read the value of %s: %w", key, err)
		}
		value = b
	case in == nil:
		return nil, fmt.Errorf("%w for %s: pipe it to stdin or give --from-file", errNoValue, key)
	case !stdinPiped(in):
		f, _ := in.(*os.File)
		if f == nil {
			return nil, fmt.Errorf("%w for %s: pipe it to stdin or give --from-file", errNoValue, key)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Value of %s (not shown): ", key)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return nil, fmt.Errorf("read the value of %s: %w", key, err)
		}
		value = b
	default:
		b, err := io.ReadAll(io.LimitReader(in, api.MaxSecretBytes+2))
		if err != nil {
			return nil, fmt.Errorf("read the value of %s from stdin: %w", key, err)
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		value = bytes.TrimSuffix(b, []byte("\r"))
	}
	if len(value) > api.MaxSecretBytes {
		return nil, fmt.Errorf("the value of %s is over 64 KiB, the most a secret may hold", key)
	}
	return value, nil
}

func (a *app) secretListCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:     "list NAME",
		Aliases: []string{"ls"},
		Short:   "List a function's secrets: keys and when each was set, never values",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(r)
			if err != nil {
				return err
			}
			items, err := c.ListSecrets(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == output.JSON {
				if items == nil {
					items = []api.Secret{}
				}
				return output.WriteJSON(out, api.SecretList{Items: items})
			}
			if len(items) == 0 {
				_, err := fmt.Fprintf(out, "%s has no secrets.\n", args[0])
				return err
			}
			now := a.opts.Now()
			t := output.NewTable(out, "key", "updated")
			for _, s := range items {
				t.Row(s.Key, output.Ago(now, s.UpdatedAt))
			}
			return t.Flush()
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) secretRmCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:     "rm NAME KEY",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a secret; the function's instances are replaced without it",
		Args:    exactArgs("NAME", "KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(r)
			if err != nil {
				return err
			}
			if err := c.DeleteSecret(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: secret %s removed; instances are replaced after their calls in flight\n", args[0], args[1])
			return nil
		},
	}
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

// secretsField is inspect's line about secrets: their keys and how instances get them.
func secretsField(keys []string, as string) string {
	if len(keys) == 0 {
		if as == api.SecretsEnv {
			return "none (given as env)"
		}
		return "none (given as files)"
	}
	if as == api.SecretsEnv {
		return strings.Join(keys, ", ") + " (environment variables)"
	}
	return strings.Join(keys, ", ") + " (files in /run/secrets)"
}
