package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/cli/output"
)

// invokeFlags are the flags of "hearth invoke".
type invokeFlags struct {
	r           remote
	data        string
	file        string
	headers     []string
	method      string
	contentType string
	path        string
	async       bool
	callback    string
	format      output.Format
}

func (a *app) invokeCmd() *cobra.Command {
	var f invokeFlags
	cmd := &cobra.Command{
		Use:   "invoke NAME [-d DATA | -f FILE] [--async [--callback URL]]",
		Short: "Call a function and print its response",
		Long: `Call the function NAME through the server's front door and print the response body.

The request body is DATA (-d), the contents of FILE (-f, "-" for stdin), or stdin when it is
piped; with none of these the call has no body. The method defaults to POST with a body and
GET without. A non-2xx answer makes the command fail: the platform's errors (unknown function,
timeout) are reported as such, and a function's own non-2xx body is printed before failing.

With --async the server stores the call and answers at once; the command prints the call's id
(-o json: the server's whole answer) and "hearth calls get ID" shows the result later. An
async call is retried when the platform fails to run it, so its handler should be idempotent.
--callback URL has the server POST the finished call, with its result, to URL.`,
		Example: `  hearth invoke hello -d '{"name":"world"}'
  echo hi | hearth invoke hello -H 'X-Trace: 1'
  hearth invoke hello --method GET --path '/items?limit=3'
  hearth invoke hello --async -d '{"name":"later"}' --callback https://example.com/done`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("data") && cmd.Flags().Changed("file") {
				return usageErrorf("use either -d or -f, not both")
			}
			if !f.async && (f.callback != "" || cmd.Flags().Changed("output")) {
				return usageErrorf("--callback and -o are for async calls: add --async")
			}
			return a.runInvoke(cmd.Context(), cmd, args[0], f, cmd.Flags().Changed("data"))
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.data, "data", "d", "", "request body")
	fl.StringVarP(&f.file, "file", "f", "", `file holding the request body ("-" for stdin)`)
	// StringArray, not StringSlice: a header value may contain commas.
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `request header "Key: Value" (repeatable)`)
	fl.StringVarP(&f.method, "method", "X", "", "HTTP method (default POST with a body, GET without)")
	fl.StringVar(&f.contentType, "content-type", "", "Content-Type of the body (default: guessed from it)")
	fl.StringVar(&f.path, "path", "", `path (and query) after the function's URL, e.g. "/items?limit=3"`)
	fl.BoolVar(&f.async, "async", false, "queue the call and print its id instead of waiting for the answer")
	fl.StringVar(&f.callback, "callback", "", "with --async: URL the server POSTs the finished call to")
	fl.VarP(&f.format, "output", "o", "with --async: output format, text (the call id) or json")
	f.r.addFlag(cmd)
	return cmd
}

func (a *app) runInvoke(ctx context.Context, cmd *cobra.Command, name string, f invokeFlags, hasData bool) error {
	header, err := parseHeaders(f.headers)
	if err != nil {
		return err
	}
	body, err := a.invokeBody(f, hasData)
	if err != nil {
		return err
	}
	if body != nil && header.Get("Content-Type") == "" {
		header.Set("Content-Type", guessContentType(body))
	}
	if f.contentType != "" {
		header.Set("Content-Type", f.contentType)
	}
	path, rawQuery, _ := strings.Cut(f.path, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return usageErrorf("--path: bad query %q: %v", rawQuery, err)
	}
	req := client.InvokeRequest{Method: strings.ToUpper(f.method), Path: path, Query: query, Header: header}
	if body != nil {
		req.Body = bytes.NewReader(body)
	}
	c, err := a.client(f.r)
	if err != nil {
		return err
	}
	if f.async {
		return invokeAsync(ctx, cmd, c, name, req, f)
	}
	resp, err := c.Invoke(ctx, name, req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	out := cmd.OutOrStdout()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if _, err := io.Copy(out, resp.Body); err != nil {
			return fmt.Errorf("read the response of %s: %w", name, err)
		}
		return nil
	}
	return invokeFailure(out, name, resp)
}

// invokeAsync queues the call and prints its id: alone on stdout, so that scripts can keep it,
// with a hint on stderr for people.
func invokeAsync(ctx context.Context, cmd *cobra.Command, c *client.Client, name string, req client.InvokeRequest, f invokeFlags) error {
	acc, err := c.InvokeAsync(ctx, name, req, f.callback)
	if err != nil {
		return err
	}
	if f.format == output.JSON {
		return output.WriteJSON(cmd.OutOrStdout(), acc)
	}
	fmt.Fprintln(cmd.OutOrStdout(), acc.ID)
	fmt.Fprintf(cmd.ErrOrStderr(), "Call %s %s: \"hearth calls get %s\" shows its result.\n", acc.ID, acc.Status, acc.ID)
	return nil
}

// maxErrorPeek is how much of a non-2xx body is read to see whether it is the platform's
// api.ErrorBody; a function's own answer may be longer, and is then printed in full.
const maxErrorPeek = 64 << 10

// invokeFailure turns a non-2xx response into an error. An api.ErrorBody is the platform's
// (or a shim's) report and becomes the error's message; anything else is the function's own
// answer, which the user asked to see, so it is printed before failing.
func invokeFailure(out io.Writer, name string, resp *http.Response) error {
	peek, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorPeek))
	if err != nil {
		return fmt.Errorf("read the response of %s: %w", name, err)
	}
	if e, platform := client.DecodeError(resp.StatusCode, peek); platform {
		return e
	}
	if _, err := io.Copy(out, io.MultiReader(bytes.NewReader(peek), resp.Body)); err != nil {
		return fmt.Errorf("read the response of %s: %w", name, err)
	}
	return fmt.Errorf("%s answered %s", name, resp.Status)
}

// invokeBody returns the request body: -d, -f, or piped stdin, in that order; nil means none.
func (a *app) invokeBody(f invokeFlags, hasData bool) ([]byte, error) {
	switch {
	case hasData:
		return []byte(f.data), nil
	case f.file == "-":
		if a.opts.Stdin == nil {
			return nil, errors.New("-f -: there is no standard input to read")
		}
		return readStdin(a.opts.Stdin)
	case f.file != "":
		b, err := os.ReadFile(a.path(f.file))
		if err != nil {
			return nil, fmt.Errorf("read the request body: %w", err)
		}
		return b, nil
	case a.opts.Stdin != nil && stdinPiped(a.opts.Stdin):
		return readStdin(a.opts.Stdin)
	}
	return nil, nil
}

func readStdin(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read the request body from stdin: %w", err)
	}
	return b, nil
}

// stdinPiped reports whether r is piped input rather than a terminal: a file or pipe holds a
// body, a terminal means the user typed nothing and reading would wait for them.
func stdinPiped(r io.Reader) bool {
	f, ok := r.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return true
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice == 0
}

// parseHeaders parses -H "Key: Value" flags.
func parseHeaders(hs []string) (http.Header, error) {
	h := http.Header{}
	for _, s := range hs {
		k, v, ok := strings.Cut(s, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, usageErrorf("bad header %q: use -H 'Key: Value'", s)
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, nil
}

// guessContentType picks a Content-Type for a body given without one: JSON is what most
// handlers expect, and text or bytes are the honest labels for the rest.
func guessContentType(body []byte) string {
	switch {
	case json.Valid(body):
		return "application/json"
	case utf8.Valid(body):
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
