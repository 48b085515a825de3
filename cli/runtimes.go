package cli

import (
	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/cli/output"
	"github.com/hearthfn/hearth/runtimes"
)

// RuntimeInfo is one line of `hearth runtimes`.
type RuntimeInfo struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description"`
	// BuildImage and RunImage are the runtime's own images; empty when it has none (docker
	// builds the function's own Dockerfile). A server's
	// --runtime-image may replace them for its builds.
	BuildImage string `json:"build_image,omitempty"`
	RunImage   string `json:"run_image,omitempty"`
}

// RuntimeList is `hearth runtimes -o json`, shaped like the API's lists.
type RuntimeList struct {
	Items []RuntimeInfo `json:"items"`
}

// runtimeLister is the part of a RuntimeCatalog `hearth runtimes` needs. It is separate from
// RuntimeCatalog so that a catalog for init alone (as in tests) need not have it.
type runtimeLister interface {
	Runtimes() []RuntimeInfo
}

// Runtimes implements runtimeLister over the embedded catalog.
func (a catalogRuntimes) Runtimes() []RuntimeInfo {
	var out []RuntimeInfo
	for _, r := range a.c.List() {
		out = append(out, RuntimeInfo{Name: r.Name, Version: r.Version, Description: r.Description,
			BuildImage: r.BuildImage, RunImage: r.RunImage})
	}
	return out
}

func (a *app) runtimesCmd() *cobra.Command {
	var format output.Format
	cmd := &cobra.Command{
		Use:   "runtimes",
		Short: "List the language runtimes functions can use",
		Long: `List the runtimes a function's func.yaml may name, with the images their builds
start from. Those images are made by ` + "`hearth images bootstrap`" + `; a server may be set to
use others (hearth server --runtime-image).`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			lister, ok := a.opts.Runtimes.(runtimeLister)
			if a.opts.Runtimes == nil || !ok {
				// As in init: made here, so that a broken embedded catalog is an error of
				// this command rather than a crash of every command.
				lister = CatalogRuntimes(runtimes.New()).(runtimeLister)
			}
			list := lister.Runtimes()
			if format == output.JSON {
				if list == nil {
					list = []RuntimeInfo{}
				}
				return output.WriteJSON(cmd.OutOrStdout(), RuntimeList{Items: list})
			}
			t := output.NewTable(cmd.OutOrStdout(), "name", "version", "description", "build image", "run image")
			for _, r := range list {
				t.Row(r.Name, r.Version, r.Description, r.BuildImage, r.RunImage)
			}
			return t.Flush()
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	return cmd
}
