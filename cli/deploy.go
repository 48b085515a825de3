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
	)
	cmd := &cobra.Command{
		Use:   "deploy [--dir DIR]",
		Short: "Upload a function's source; the server builds and rolls it out",
		Long: `Deploy the function in DIR (default: the current directory). func.yaml is checked
here first; then the directory, minus what .hearthignore excludes, is uploaded and the server
builds the image, streaming the build log, and rolls out a new version.`,
		Example: "  hearth deploy\n  hearth deploy --dir ./hello -o json",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDeploy(cmd.Context(), cmd, r, dir, format)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "directory of the function (holding func.yaml)")
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	r.addFlag(cmd)
	return cmd
}

func (a *app) runDeploy(ctx context.Context, cmd *cobra.Command, r remote, dir string, format output.Format) error {
	if a.opts.PackDir == nil {
		return errors.New("deploy is not available: this build of hearth cannot pack functions")
	}
	path := a.path(dir)
	spec, err := a.readSpec(cmd.ErrOrStderr(), dir, path)
	if err != nil {
		return err
	}
	var archive bytes.Buffer
	if err := a.opts.PackDir(&archive, path); err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	c, err := a.client(r)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "Deploying %s (%s of source) to %s\n", spec.Name, output.Size(int64(archive.Len())), c.BaseURL())
	fn, cached, err := c.Deploy(ctx, spec.Name, &archive, func(line string) {
		fmt.Fprintln(stderr, line)
	})
	if err != nil {
		return deployError(stderr, spec.Name, filepath.Join(dir, funcFile), err)
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
// many lines long, so it goes to stderr as it is and the error itself stays one line.
func deployError(stderr io.Writer, name, file string, err error) error {
	var ce *client.Error
	switch {
	case errors.Is(err, client.ErrBuildFailed):
		if errors.As(err, &ce) && ce.Detail.Message != "" {
			fmt.Fprintln(stderr, strings.TrimRight(ce.Detail.Message, "\n"))
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
