package output

import (
	"encoding/json"
	"fmt"
	"io"
)

// Format is an output format, chosen with -o. It implements pflag.Value (String, Set, Type),
// so a bad value is rejected while flags are parsed.
type Format string

// The formats every command with -o accepts.
const (
	// Text is the default: tables and key-value blocks for people.
	Text Format = "text"
	// JSON is the API's own JSON, indented, for scripts.
	JSON Format = "json"
)

// String returns the format's name; the zero Format reads as Text.
func (f *Format) String() string {
	if *f == "" {
		return string(Text)
	}
	return string(*f)
}

// Set parses a format name.
func (f *Format) Set(s string) error {
	switch Format(s) {
	case Text, JSON:
		*f = Format(s)
		return nil
	case "table":
		// "table" is what kubectl and docker users type for the default.
		*f = Text
		return nil
	}
	return fmt.Errorf("unknown output format %q: use text or json", s)
}

// Type names the flag's value in help texts.
func (f *Format) Type() string { return "format" }

// WriteJSON writes v as indented JSON followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// The API's values (URLs, compiler output) read better unescaped, and this is not HTML.
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
