package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/cli/output"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// funcFile is the name of a function's descriptor at the root of its directory.
const funcFile = funcfile.FileName

func (a *app) deployCmd() *cobra.Command {
	var (
		r      remote
		dir    string
		format output.Format
		w      watchOpts
		watch  bool
	)
	cmd := &cobra.Command{
		Use:   "deploy [--dir DIR] [--watch [--invoke-with BODY|@FILE]]",
		Short: "Upload a function's source; the server builds and rolls it out",
		Long: `Deploy the function in DIR (default: the current directory). func.yaml is checked
here first; then the directory, minus what .hearthignore excludes, is uploaded and the server
builds the image and rolls out a new version.

The build is shown one line per step with the time it took; on a terminal the running step
has a spinner. --verbose prints the builder's whole log instead, line by line. When the build
fails, the failed step's whole log is printed, then the error, and, when the log shows that a
dependency could not be downloaded, how to build it offline (docs/user/offline-builds.md).

With --watch it deploys, prints the URL, and keeps watching DIR: when files change (what
.hearthignore excludes, .git and editors' temporary files do not count) it waits until they
have been quiet for 150 ms and deploys again, printing one line per deploy ("deployed hello
version 4 in 1.8s: URL") or the build's error, and goes on watching. Changes made during a
deploy make one more deploy after it. --invoke-with BODY calls the function with BODY (POST;
"@FILE" sends FILE's contents, "@-" standard input read once) after each deploy that succeeds
and prints the status and the answer. Ctrl-C stops watching.`,
		Example: "  hearth deploy\n  hearth deploy --dir ./hello -o json\n  hearth deploy --watch --invoke-with '{\"name\":\"Ada\"}'",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if w.invokeSet = cmd.Flags().Changed("invoke-with"); w.invokeSet && !watch {
				return usageErrorf("--invoke-with is for --watch: add --watch, or use hearth invoke")
			}
			if watch {
				if format == output.JSON {
					return usageErrorf("--watch prints one line per deploy: -o json is not available with it")
				}
				w.r, w.dir = r, dir
				return a.runWatch(cmd.Context(), cmd, w)
			}
			return a.runDeploy(cmd.Context(), cmd, r, dir, format)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "directory of the function (holding func.yaml)")
	cmd.Flags().BoolVar(&watch, "watch", false, "deploy again whenever the function's files change, until Ctrl-C")
	cmd.Flags().StringVar(&w.invokeWith, "invoke-with", "", `with --watch: call the function with this body after each deploy ("@FILE": a file's contents)`)
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.Flags().BoolVarP(&a.verboseBuild, "verbose", "v", false, "print every line of the build log, not one line per build step")
	r.addFlag(cmd)
	return cmd
}

func (a *app) runDeploy(ctx context.Context, cmd *cobra.Command, r remote, dir string, format output.Format) error {
	stderr := cmd.ErrOrStderr()
	fn, cached, c, err := a.deployDir(ctx, stderr, stderr, r, dir)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if format == output.JSON {
		return output.WriteJSON(out, fn)
	}
	return output.WriteFields(out, []output.Field{
		{Name: "Function", Value: fn.Name},
		{Name: "Version", Value: strconv.Itoa(fn.Version.Number)},
		{Name: "Image", Value: fn.Version.Image},
		{Name: "Cached", Value: yesNo(cached)},
		{Name: "URL", Value: c.InvokeURL(fn.Name)},
	})
}

// deployDir is one deploy of the function in dir: check func.yaml, pack, upload, and wait for
// the build and rollout. The header and the build log go to progress; a failed build's output
// and func.yaml's problems go to stderr. It is apart from runDeploy so that deploy --watch
// (watch.go) deploys the same way, again and again, with its own progress writer.
func (a *app) deployDir(ctx context.Context, stderr, progress io.Writer, r remote, dir string) (api.Function, bool, *client.Client, error) {
	if a.opts.PackDir == nil {
		return api.Function{}, false, nil, errNoPacker
	}
	path := a.path(dir)
	spec, err := a.readSpec(stderr, dir, path)
	if err != nil {
		return api.Function{}, false, nil, err
	}
	var archive bytes.Buffer
	if err := a.opts.PackDir(&archive, path); err != nil {
		return api.Function{}, false, nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	c, err := a.client(r)
	if err != nil {
		return api.Function{}, false, nil, err
	}
	fmt.Fprintf(progress, "Deploying %s (%s of source) to %s\n", spec.Name, output.Size(int64(archive.Len())), c.BaseURL())
	view := newBuildView(progress, stderr, a.verboseBuild, a.opts.Now)
	view.start()
	fn, cached, err := c.DeployEvents(ctx, spec.Name, &archive, view.event)
	view.stop()
	if err != nil {
		return api.Function{}, false, c, deployError(stderr, spec.Name, filepath.Join(dir, funcFile), err, view)
	}
	return fn, cached, c, nil
}

// readSpec reads and validates DIR/func.yaml, so that a bad field fails here, before anything
// is packed or uploaded. dir is the directory as the user wrote it, for messages. When the
// file has several problems they are listed on stderr, one a line, and the error counts them.
func (a *app) readSpec(stderr io.Writer, dir, path string) (api.FunctionSpec, error) {
	shown := filepath.Join(dir, funcFile)
	data, err := os.ReadFile(filepath.Join(path, funcFile))
	if errors.Is(err, fs.ErrNotExist) {
		return api.FunctionSpec{}, fmt.Errorf("no %s in %s: deploy a function's directory (--dir), or create one with: hearth init --runtime RUNTIME NAME", funcFile, dir)
	}
	if err != nil {
		return api.FunctionSpec{}, fmt.Errorf("read %s: %w", shown, err)
	}
	spec, err := a.opts.ParseFuncFile(data)
	if err != nil {
		problems := funcFileProblems(shown, err)
		if len(problems) == 1 {
			return api.FunctionSpec{}, errors.New(problems[0])
		}
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		return api.FunctionSpec{}, fmt.Errorf("%s has %d problems (listed above)", shown, len(problems))
	}
	return spec, nil
}

// funcFileProblems describes each problem of a func.yaml parse error on one line, naming the
// file by the path the user knows (funcfile's own messages say only "func.yaml").
func funcFileProblems(shown string, err error) []string {
	errs := []error{err}
	// funcfile.Parse joins one error per problem.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	problems := make([]string, 0, len(errs))
	for _, e := range errs {
		var fe *funcfile.FieldError
		var se *funcfile.SyntaxError
		switch {
		case errors.As(e, &fe):
			problems = append(problems, fmt.Sprintf("%s: field %q: %s", shown, fe.Field, fe.Reason))
		case errors.As(e, &se) && se.Line > 0:
			problems = append(problems, fmt.Sprintf("%s: line %d: %s", shown, se.Line, se.Msg))
		case errors.As(e, &se):
			problems = append(problems, fmt.Sprintf("%s: %s", shown, se.Msg))
		default:
			problems = append(problems, fmt.Sprintf("%s: %v", shown, e))
		}
	}
	return problems
}

// deployError explains a failed deploy. A failed build's message is the compiler's output,
// many lines long, so it goes to stderr and the error itself stays one line. When view has
// shown the failed step's log, the message, which ends with that log, is cut to its first line
// (the engine's word on the step) and the hint, if any.
func deployError(stderr io.Writer, name, file string, err error, view *buildView) error {
	var ce *client.Error
	switch {
	case errors.Is(err, client.ErrBuildFailed):
		if errors.As(err, &ce) && ce.Detail.Message != "" {
			msg := strings.TrimRight(ce.Detail.Message, "\n")
			if shown, hint := view.shownFailure(); shown {
				msg, _, _ = strings.Cut(msg, "\n")
				if hint != "" {
					msg += "\n" + hint
				}
			}
			fmt.Fprintln(stderr, msg)
		}
		return fmt.Errorf("the build of %s failed (see the build output above)", name)
	case errors.Is(err, client.ErrInvalid) && errors.As(err, &ce) && ce.Detail.Field != "":
		return fmt.Errorf("the server rejected %s: %w", file, err)
	}
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
