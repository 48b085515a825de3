package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/runtimes"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

func (a *app) initCmd() *cobra.Command {
	var runtime string
	cmd := &cobra.Command{
		Use:   "init --runtime RUNTIME NAME",
		Short: "Create a new function in the directory NAME",
		Long: `Create a new function: a directory NAME holding a func.yaml and a starter handler
for the chosen runtime. NAME is also the function's name.`,
		Example: "  hearth init --runtime go hello",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runInit(cmd, runtime, args[0])
		},
	}
	cmd.Flags().StringVarP(&runtime, "runtime", "r", "", "language runtime of the function (required; see the list above)")
	_ = cmd.RegisterFlagCompletionFunc("runtime", a.completeRuntime)
	// The help lists the runtimes this binary knows, from its catalog, so it cannot drift from
	// what init accepts; the catalog is read only when help is asked for.
	long := cmd.Long
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if names := a.runtimeNames(); len(names) > 0 {
			c.Long = long + "\n\nRuntimes: " + strings.Join(names, ", ") + " (hearth runtimes shows their versions and images)."
		}
		c.Root().HelpFunc()(c, args)
	})
	return cmd
}

// runtimeNames lists the runtimes init accepts; none when the catalog cannot be read.
func (a *app) runtimeNames() (names []string) {
	defer func() {
		if recover() != nil {
			names = nil // a broken embedded catalog: init itself reports it
		}
	}()
	cat := a.opts.Runtimes
	if cat == nil {
		cat = CatalogRuntimes(runtimes.New())
	}
	return cat.Names()
}

func (a *app) runInit(cmd *cobra.Command, runtime, name string) error {
	cat := a.opts.Runtimes
	if cat == nil {
		// Made here rather than in NewRoot: only init needs it, and New panics on a broken
		// embedded catalog, which Execute reports instead of crashing every command.
		cat = CatalogRuntimes(runtimes.New())
	}
	known := cat.Names()
	if runtime == "" {
		return usageErrorf("--runtime is required (known runtimes: %s)", strings.Join(known, ", "))
	}
	if !slices.Contains(known, runtime) {
		return fmt.Errorf("unknown runtime %q: known runtimes are %s", runtime, strings.Join(known, ", "))
	}
	// The name is checked before anything touches the disk; it is also the directory's name,
	// and the rules (lowercase letters, digits, '-') rule out paths.
	if err := funcfile.ValidateName(name); err != nil {
		var fe *funcfile.FieldError
		if errors.As(err, &fe) {
			return fmt.Errorf("invalid function name: %s", fe.Reason)
		}
		return err
	}
	dir := a.path(name)
	created, err := prepareDir(dir, name)
	if err != nil {
		return err
	}
	if err := cat.WriteScaffold(runtime, name, dir); err != nil {
		// Leave no half-written function behind, but never remove a directory the user
		// made.
		if created {
			_ = os.RemoveAll(dir)
		}
		return fmt.Errorf("write the %s scaffold: %w", runtime, err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Created function %s (runtime %s) in %s%c\n", name, runtime, name, filepath.Separator)
	fmt.Fprintf(out, "Next: cd %s && hearth deploy\n", name)
	return nil
}

// prepareDir makes sure dir exists and is empty, creating it when missing; created reports
// whether it did.
func prepareDir(dir, name string) (created bool, err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(dir, 0o755); err != nil {
			return false, fmt.Errorf("create directory %s: %w", name, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("check directory %s: %w", name, err)
	case !fi.IsDir():
		return false, fmt.Errorf("%s already exists and is not a directory: choose another name", name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("read directory %s: %w", name, err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("directory %s already exists and is not empty: choose another name or remove it", name)
	}
	return false, nil
}
