package output

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table writes rows as aligned columns under an upper-case header. Rows are buffered until
// Flush, which computes the column widths.
type Table struct {
	tw *tabwriter.Writer
}

// NewTable returns a Table writing to w with the given column headers.
func NewTable(w io.Writer, header ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)}
	upper := make([]any, len(header))
	for i, h := range header {
		upper[i] = strings.ToUpper(h)
	}
	t.Row(upper...)
	return t
}

// Row adds a row; each cell is formatted with %v. Empty cells are shown as "-" so that columns
// stay readable.
func (t *Table) Row(cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = cell(fmt.Sprint(c))
	}
	fmt.Fprintln(t.tw, strings.Join(s, "\t"))
}

// Flush writes the table.
func (t *Table) Flush() error { return t.tw.Flush() }

// Field is one line of a key-value block.
type Field struct {
	Name  string
	Value string
}

// WriteFields writes fields as "Name:  value" lines with the values aligned.
func WriteFields(w io.Writer, fields []Field) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f.Name, cell(f.Value))
	}
	return tw.Flush()
}

// cell makes s safe for one aligned cell: the values come from the server and a tab or a
// newline in one would break every column after it.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
