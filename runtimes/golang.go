package runtimes

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// languageGo is runtime.yaml's "language" for runtimes whose functions are Go modules.
const languageGo = "go"

// prepareGo reads the module path (the shim imports it) and whether dependencies are vendored,
// and catches the mistakes whose compiler messages would not point at the fix.
func prepareGo(src fs.FS, d *BuildData) error {
	gomod, err := fs.ReadFile(src, "go.mod")
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: the go runtime needs a go.mod at the function's root: run `go mod init %s` there",
			ErrInvalidSource, d.Function)
	}
	if err != nil {
		return fmt.Errorf("read go.mod: %w", err)
	}
	d.Module = modulePath(gomod)
	if d.Module == "" {
		return fmt.Errorf("%w: go.mod has no module line", ErrInvalidSource)
	}
	if fi, err := fs.Stat(src, "vendor"); err == nil && fi.IsDir() {
		d.Vendor = true
	}
	return checkRootPackage(src)
}

// modulePath returns the path on go.mod's module line, or "" when there is none.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) != 2 || fields[0] != "module" {
			continue
		}
		p := fields[1]
		if uq, err := strconv.Unquote(p); err == nil {
			p = uq
		}
		return p
	}
	return ""
}

// checkRootPackage rejects a module whose root package is a command or is missing: the shim
// imports the root package, and the compiler's "is a program, not an importable package" does
// not say what to change. Only when every non-test file says "package main" is it rejected, so
// that a `//go:build ignore` generator beside the handler is fine.
func checkRootPackage(src fs.FS) error {
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return fmt.Errorf("read function source: %w", err)
	}
	goFiles, mains := 0, 0
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		goFiles++
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		// A syntax error is the compiler's to report, with its line and column.
		if f, err := parser.ParseFile(fset, name, data, parser.PackageClauseOnly); err == nil && f.Name.Name == "main" {
			mains++
		}
	}
	switch {
	case goFiles == 0:
		return fmt.Errorf("%w: no .go files at the module root: the root package must export "+
			"func Handle(http.ResponseWriter, *http.Request)", ErrInvalidSource)
	case mains == goFiles:
		return fmt.Errorf("%w: the module's root package is package main; make it a library package "+
			"(e.g. package handler) that exports func Handle(http.ResponseWriter, *http.Request)", ErrInvalidSource)
	}
	return nil
}
