package testimage

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"testing"
)

// TestProbeFields checks that the types tests decode the server's answers into have the
// server's fields, in its order.
func TestProbeFields(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "probe.go", probeSource, 0)
	if err != nil {
		t.Fatal(err)
	}
	server := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			if st, ok := ts.Type.(*ast.StructType); ok {
				for _, fld := range st.Fields.List {
					for _, name := range fld.Names {
						server[ts.Name.Name] = append(server[ts.Name.Name], name.Name)
					}
				}
			}
		}
		return true
	})
	for _, v := range []any{Probe{}, DialResult{}} {
		rt := reflect.TypeOf(v)
		var ours []string
		for i := range rt.NumField() {
			ours = append(ours, rt.Field(i).Name)
		}
		if !slices.Equal(ours, server[rt.Name()]) {
			t.Errorf("%s: fields %v, the server's %v", rt.Name(), ours, server[rt.Name()])
		}
	}
}
