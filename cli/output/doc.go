// Package output renders what the CLI prints: aligned tables and key-value blocks for people,
// indented JSON for scripts (-o json), and the small formatting helpers (ages, sizes) the
// commands share. It knows nothing about hearth's commands; it only writes to an io.Writer.
//
// Where to read next: package cli (the commands that use it).
package output
