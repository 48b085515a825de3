package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hearthfn/hearth/api/client"
)

func (a *app) loginCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "login URL",
		Short: "Save a token for a server and make it the default server",
		Long: `Read an API token (hth_...) from stdin, check it with the server at URL, and save it in
your config directory (hearth/credentials.json, readable by you only). Later commands talk to
that server with that token unless HEARTH_API or HEARTH_TOKEN say otherwise.

On a terminal the token is asked for without echo; otherwise the first line of stdin is read.
It is never taken as an argument, which would leave it in the shell's history.`,
		Example: `  hearth login https://hearth.example.com
  hearth token create --role deployer --function hello | hearth login http://127.0.0.1:8080`,
		Args: exactArgs("URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := serverKey(args[0])
			tok, err := a.readToken(cmd, url)
			if err != nil {
				return err
			}
			c, err := client.New(url, a.clientOpts(client.WithToken(tok))...)
			if err != nil {
				return err
			}
			who, err := c.Self(cmd.Context())
			if err != nil {
				return fmt.Errorf("the server did not accept the token: %w", err)
			}
			creds, err := a.loadCredentials()
			if err != nil {
				return err
			}
			if creds.Servers == nil {
				creds.Servers = map[string]savedServer{}
			}
			creds.Servers[url] = savedServer{Token: tok}
			creds.Current = url
			if err := a.saveCredentials(creds); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s with token %s (%s, %s)\n", url, who.ID, who.Role, scope(who))
			return nil
		},
	}
	return cmd
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [URL]",
		Short: "Forget the token saved for a server (default: the current one)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds, err := a.loadCredentials()
			if err != nil {
				return err
			}
			url := creds.Current
			if len(args) == 1 {
				url = serverKey(args[0])
			}
			if _, ok := creds.Servers[url]; !ok || url == "" {
				return fmt.Errorf("no saved login for %q", url)
			}
			delete(creds.Servers, url)
			if creds.Current == url {
				creds.Current = ""
			}
			if err := a.saveCredentials(creds); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out of %s\n", url)
			return nil
		},
	}
}

// readToken reads a token from stdin: without echo from a terminal, else its first line.
func (a *app) readToken(cmd *cobra.Command, url string) (string, error) {
	in := a.opts.Stdin
	if in == nil {
		return "", errors.New("no token on stdin: pipe one in, e.g. echo \"$TOKEN\" | hearth login " + url)
	}
	var line string
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(cmd.ErrOrStderr(), "Token for %s: ", url)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("read the token: %w", err)
		}
		line = string(b)
	} else {
		s, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the token: %w", err)
		}
		line = s
	}
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", errors.New("no token given: paste one made by hearth token create (it starts with hth_)")
	}
	return tok, nil
}
