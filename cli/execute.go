package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes returned by Execute.
const (
	// ExitOK means the command succeeded.
	ExitOK = 0
	// ExitError means the command ran and failed (server error, build failure, a non-2xx
	// invocation).
	ExitError = 1
	// ExitUsage means the command line was wrong: an unknown command or flag, or missing or
	// extra arguments.
	ExitUsage = 2
	// ExitInterrupted means the context was cancelled (Ctrl-C), as shells report SIGINT.
	ExitInterrupted = 130
)

// Execute runs root with args (without the program name) under ctx and returns the exit code.
// It prints at most one "Error: ..." line to root's error stream, followed by the failing
// command's usage only when the command line itself was wrong. A panic in a command is
// recovered and reported as an internal error rather than a stack trace.
//
// Commands attached to root after NewRoot (server, agent) get the same treatment: Execute
// marks the errors of every command's Run hooks before running.
func Execute(ctx context.Context, root *cobra.Command, args []string) (code int) {
	stderr := root.ErrOrStderr()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "Error: internal error (a bug in hearth, please report it): %v\n", r)
			code = ExitError
		}
	}()
	root.SilenceErrors, root.SilenceUsage = true, true
	markRunErrors(root)
	if args == nil {
		// Cobra reads os.Args when args is nil; Execute's caller decides what the args are.
		args = []string{}
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return report(stderr, cmd, err)
}

// report prints err and chooses the exit code.
func report(w io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	var ue *usageError
	var re *runError
	// Anything cobra rejects before a command runs (flags, arguments, unknown commands)
	// never passes through a runError.
	if errors.As(err, &ue) || !errors.As(err, &re) {
		fmt.Fprintf(w, "Error: %s\n", oneLine(err.Error()))
		if cmd != nil {
			fmt.Fprintf(w, "\n%s", cmd.UsageString())
		}
		return ExitUsage
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "Error: interrupted")
		return ExitInterrupted
	}
	fmt.Fprintf(w, "Error: %s\n", oneLine(err.Error()))
	return ExitError
}

// oneLine folds a multi-line message (a server message, a wrapped compiler error) into one
// line, so that the error is always one line of output.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " \n ")), " ")
}

// usageError is an error in the command line rather than in what the command did.
type usageError struct {
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// runError marks an error as returned by a command's own code, as opposed to cobra's
// checks of the command line.
type runError struct {
	err error
}

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// markedAnnotation records on a command that its hooks are already wrapped, so that running
// Execute twice on one tree does not wrap them twice.
const markedAnnotation = "hearth.cli/run-errors-marked"

// markRunErrors wraps the error-returning hooks of cmd and its descendants so that their
// errors are runErrors.
func markRunErrors(cmd *cobra.Command) {
	if cmd.Annotations[markedAnnotation] == "" {
		if cmd.Annotations == nil {
			cmd.Annotations = map[string]string{}
		}
		cmd.Annotations[markedAnnotation] = "yes"
		for _, hook := range []*func(*cobra.Command, []string) error{
			&cmd.PersistentPreRunE, &cmd.PreRunE, &cmd.RunE, &cmd.PostRunE, &cmd.PersistentPostRunE,
		} {
			if f := *hook; f != nil {
				*hook = func(c *cobra.Command, args []string) error {
					if err := f(c, args); err != nil {
						return &runError{err: err}
					}
					return nil
				}
			}
		}
	}
	for _, c := range cmd.Commands() {
		markRunErrors(c)
	}
}
