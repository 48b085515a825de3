package cli

import "fmt"

// serverWarning prints a Warning the server attached to an answer (such as "memory_mb is
// deprecated; use memory" when an old spelling reached the API) on stderr, so that whoever
// relies on the old form hears about it while it still works. stdout is left alone: it may be
// JSON a script reads.
func (a *app) serverWarning(text string) {
	fmt.Fprintf(a.opts.Stderr, "warning from the server: %s\n", text)
}
