package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/cli/output"
	"github.com/hearthfn/hearth/runtimes/contract"
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
	include     bool
}

func (a *app) invokeCmd() *cobra.Command {
	var f invokeFlags
	cmd := &cobra.Command{
		Use:   "invoke NAME[/PATH][?QUERY] [-d DATA | -f FILE] [-i] [--async [--callback URL]]",
		Short: "Call a function and print its response",
		Long: `Call the function NAME through the server's front door and print the response body.

The request body is DATA (-d), the contents of FILE (-f, "-" for stdin), or stdin when it is
piped; with none of these the call has no body. The method defaults to POST with a body and
GET without. A non-2xx answer makes the command fail: the platform's errors (unknown function,
timeout) are reported with their status and code, and a function's own non-2xx body is printed
before failing. NAME may carry the path and query the function gets, as in the URL
(hello/items?limit=3), or give them with --path. NAME@ALIAS calls through an alias (its
weights pick the version) and NAME@N pins version N (hearth versions, hearth alias). -i prints the status line and the headers
before the body; -o json prints the whole answer as JSON (status, headers, body, duration and
whether the call found its instance warm). On a terminal the body ends with a newline; piped,
it is written byte for byte.

With --async the server stores the call and answers at once; the command prints the call's id
(-o json: the server's whole answer) and "hearth calls get ID" shows the result later. An
async call is retried when the platform fails to run it, so its handler should be idempotent.
--callback URL has the server POST the finished call, with its result, to URL.`,
		Example: `  hearth invoke hello -d '{"name":"world"}'
  echo hi | hearth invoke hello -H 'X-Trace: 1'
  hearth invoke hello --method GET --path '/items?limit=3'
  hearth invoke -i 'hello/items?limit=3'
  hearth invoke hello@live -d '{"name":"canary"}'
  hearth invoke hello --async -d '{"name":"later"}' --callback https://example.com/done`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("data") && cmd.Flags().Changed("file") {
				return usageErrorf("use either -d or -f, not both")
			}
			if !f.async && f.callback != "" {
				return usageErrorf("--callback is for async calls: add --async")
			}
			if f.include && f.format == output.JSON {
				return usageErrorf("use either -i or -o json: the JSON has the headers")
			}
			name, path, err := splitTarget(args[0], f.path)
			if err != nil {
				return err
			}
			f.path = path
			return a.runInvoke(cmd.Context(), cmd, name, f, cmd.Flags().Changed("data"))
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
	fl.VarP(&f.format, "output", "o", "output format: text (the body; with --async the call id) or json (the whole answer)")
	fl.BoolVarP(&f.include, "include", "i", false, "print the status line and the headers before the body")
	cmd.ValidArgsFunction = a.completeFunctionArg
	_ = cmd.RegisterFlagCompletionFunc("method", completeMethod())
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
	began := time.Now()
	resp, err := c.Invoke(ctx, name, req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	out := cmd.OutOrStdout()
	if f.format == output.JSON {
		return invokeJSON(out, name, resp, began)
	}
	if f.include {
		writeHead(out, resp)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return copyBody(out, name, resp.Body)
	}
	return invokeFailure(out, name, resp)
}

// splitTarget takes the function's name apart from a path and query written after it, as in
// its URL ("hello/items?limit=3"); path is --path, which may not be given as well.
func splitTarget(target, path string) (name, fullPath string, err error) {
	i := strings.IndexAny(target, "/?")
	if i < 0 {
		return target, path, nil
	}
	if path != "" {
		return "", "", usageErrorf("the path is given twice, in %q and with --path %q: give it once", target, path)
	}
	name, fullPath = target[:i], target[i:]
	if name == "" {
		return "", "", usageErrorf("%q names no function: write NAME/PATH, such as hello/items", target)
	}
	if fullPath[0] == '?' {
		fullPath = "/" + fullPath
	}
	return name, fullPath, nil
}

// copyBody writes a body as it came; on a terminal it ends with a newline, so that the prompt
// does not follow the answer on its line, while a pipe gets the bytes exactly.
func copyBody(out io.Writer, name string, body io.Reader) error {
	var last lastByte
	if _, err := io.Copy(io.MultiWriter(out, &last), body); err != nil {
		return fmt.Errorf("read the response of %s: %w", name, err)
	}
	if last.n > 0 && last.b != '\n' && isTerminal(out) {
		_, _ = io.WriteString(out, "\n")
	}
	return nil
}

// lastByte remembers the last byte written through it.
type lastByte struct {
	b byte
	n int64
}

func (l *lastByte) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.b = p[len(p)-1]
		l.n += int64(len(p))
	}
	return len(p), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// writeHead prints the status line and the headers, sorted, then a blank line: what curl -i
// shows.
func writeHead(out io.Writer, resp *http.Response) {
	fmt.Fprintf(out, "%s %s\n", resp.Proto, resp.Status)
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(out, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(out)
}

// invokeAnswer is what -o json prints of a sync call.
type invokeAnswer struct {
	Status     int                 `json:"status"`
	Headers    map[string][]string `json:"headers"`
	Body       string              `json:"body"`
	BodyBase64 string              `json:"body_base64,omitempty"`
	DurationMS float64             `json:"duration_ms"`
	Start      string              `json:"start,omitempty"`
	CallID     string              `json:"call_id,omitempty"`
}

// invokeJSON prints the whole answer as JSON (a body that is not UTF-8 as body_base64), and
// fails after it when the status is not 2xx.
func invokeJSON(out io.Writer, name string, resp *http.Response, began time.Time) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read the response of %s: %w", name, err)
	}
	a := invokeAnswer{Status: resp.StatusCode, Headers: resp.Header, DurationMS: float64(time.Since(began).Microseconds()) / 1000,
		Start: resp.Header.Get(api.HeaderStart), CallID: resp.Header.Get(contract.HeaderCallID)}
	if utf8.Valid(body) {
		a.Body = string(body)
	} else {
		a.BodyBase64 = base64.StdEncoding.EncodeToString(body)
	}
	if err := output.WriteJSON(out, a); err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e, _ := client.DecodeError(resp.StatusCode, body)
		return failedCall(name, resp, e)
	}
	return nil
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

// invokeFailure turns a non-2xx response into an error that gives the status and, for the
// platform's (or a shim's) api.ErrorBody, its code and message, the same way for every status.
// Anything else is the function's own answer, which the user asked to see, so it is printed
// before failing.
func invokeFailure(out io.Writer, name string, resp *http.Response) error {
	peek, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorPeek))
	if err != nil {
		return fmt.Errorf("read the response of %s: %w", name, err)
	}
	e, platform := client.DecodeError(resp.StatusCode, peek)
	if platform {
		return failedCall(name, resp, e)
	}
	if err := copyBody(out, name, io.MultiReader(bytes.NewReader(peek), resp.Body)); err != nil {
		return err
	}
	return failedCall(name, resp, nil)
}

// failedCall is the error of a call answered with a non-2xx status: "hello answered 502 Bad
// Gateway (instance_failed): the instance exited". It wraps the API error, when there is one,
// so that errors.Is finds its sentinel.
func failedCall(name string, resp *http.Response, e *client.Error) error {
	head := fmt.Sprintf("%s answered %s", name, resp.Status)
	if e == nil || (e.Detail.Code == "" && e.Detail.Message == "") {
		return errors.New(head)
	}
	if e.Detail.Code != "" {
		head += " (" + e.Detail.Code + ")"
	}
	return fmt.Errorf("%s: %w", head, e)
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
