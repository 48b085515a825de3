package registry_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/scheduler/registry"
)

func TestDeployRefusesTooManyEntries(t *testing.T) {
	e := newEnvWith(t, registry.Config{MaxSourceEntries: 5}, slog.New(slog.NewTextHandler(t.Output(), nil)))
	files := source(helloYAML, "package main\n")
	for i := range 4 {
		files[fmt.Sprintf("data/%d.txt", i)] = "x"
	}
	// func.yaml, main.go and four files: six entries (PackDir writes no folder entries).
	_, _, err := e.reg.Deploy(t.Context(), "hello", bytes.NewReader(pack(t, files)), nil)
	if !errors.Is(err, buildctx.ErrTooLarge) || !strings.Contains(err.Error(), ".hearthignore") {
		t.Fatalf("Deploy of 6 entries with a limit of 5 = %v, want ErrTooLarge with a hint", err)
	}
	if n := len(e.builder.requests()); n != 0 {
		t.Fatalf("%d builds, want none", n)
	}
	delete(files, "data/3.txt")
	delete(files, "data/2.txt")
	delete(files, "data/1.txt")
	if _, _, err := e.reg.Deploy(t.Context(), "hello", bytes.NewReader(pack(t, files)), nil); err != nil {
		t.Fatalf("Deploy of 3 files within the limit: %v", err)
	}
}
