package cli

import (
	"github.com/hearthfn/hearth/runtimes"
)

// CatalogRuntimes adapts a runtime catalog to the RuntimeCatalog init needs. Options.Runtimes
// defaults to it over runtimes.New().
func CatalogRuntimes(c *runtimes.Catalog) RuntimeCatalog { return catalogRuntimes{c: c} }

type catalogRuntimes struct{ c *runtimes.Catalog }

var _ RuntimeCatalog = catalogRuntimes{}

func (a catalogRuntimes) Names() []string {
	var names []string
	for _, r := range a.c.List() {
		names = append(names, r.Name)
	}
	return names
}

func (a catalogRuntimes) WriteScaffold(runtime, function, dir string) error {
	r, err := a.c.Lookup(runtime)
	if err != nil {
		return err
	}
	return r.WriteScaffold(dir, function)
}
