package funcfile

import (
	"errors"
	"fmt"
)

// FileName is the name of the function file at the root of a function's directory.
const FileName = "func.yaml"

// ErrInvalid is wrapped by every error that says func.yaml (or a spec) is not acceptable.
var ErrInvalid = errors.New("invalid func.yaml")

// FieldError says what is wrong with one field. Field is the key as written in func.yaml, with
// map entries as "env.KEY" or "config.KEY". It wraps ErrInvalid.
type FieldError struct {
	Field  string
	Reason string
}

// Error formats the problem as `func.yaml: field "timeout": must be ...`.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: field %q: %s", FileName, e.Field, e.Reason)
}

// Unwrap returns ErrInvalid, so that errors.Is(err, ErrInvalid) holds for every FieldError.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// SyntaxError is a func.yaml that is not well-formed YAML. Line is 1-based, or 0 when the YAML
// parser did not say. It wraps ErrInvalid.
type SyntaxError struct {
	Line int
	Msg  string
}

// Error formats the problem as "func.yaml: line 3: <parser message>".
func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", FileName, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", FileName, e.Msg)
}

// Unwrap returns ErrInvalid.
func (e *SyntaxError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
