package runtimes

import (
	"strings"
	"testing"
)

// TestPythonCheckSyntax covers the syntax check of `python3 -m hearth_shim --check`: every .py
// file of the function is compiled, and each syntax error is shown as the other runtimes' builds
// show a compile error: "FILE:LINE:COL: SyntaxError: MESSAGE", the line, and a caret under the
// spot.
func TestPythonCheckSyntax(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string // the whole output; "" means the check passes
	}{
		{"missing colon", map[string]string{"main.py": "import os\n\ndef handle(req, ctx)\n    return 'x'\n"},
			"main.py:3:21: SyntaxError: expected ':'\ndef handle(req, ctx)\n                    ^\n"},
		{"range of carets", map[string]string{"main.py": "def handle(req, ctx):\n    return print 'x'\n"},
			"main.py:2:12: SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?\n    return print 'x'\n           ^^^^^^^^^\n"},
		{"tab stays a tab under the line", map[string]string{"main.py": "def handle(req, ctx):\n\treturn (1,\n"},
			"main.py:2:9: SyntaxError: '(' was never closed\n\treturn (1,\n\t       ^\n"},
		{"indentation", map[string]string{"main.py": "def handle(req, ctx):\nreturn\n"},
			"main.py:2:1: IndentationError: expected an indented block after function definition on line 1\nreturn\n^^^^^^\n"},
		{"in another module, every file", map[string]string{"main.py": "def handle(req, ctx): pass\n", "lib/util.py": "x = = 1\n", "a.py": "x = (\n"},
			"a.py:1:5: SyntaxError: '(' was never closed\nx = (\n    ^\nlib/util.py:1:5: SyntaxError: invalid syntax\nx = = 1\n    ^\n"},
		{"pip's inputs and caches are not the function's", map[string]string{"main.py": "def handle(req, ctx): pass\n",
			"requirements.txt": "", "vendor/old.py": "print 'py2'\n", "wheels/x.py": "(\n", "__pycache__/x.py": "(\n"}, ""},
		{"vendor without requirements.txt is the function's", map[string]string{"main.py": "def handle(req, ctx): pass\n", "vendor/old.py": "x = = 1\n"},
			"vendor/old.py:1:5: SyntaxError: invalid syntax\nx = = 1\n    ^\n"},
		{"a return outside a function is a compile error too", map[string]string{"main.py": "def handle(req, ctx): pass\nreturn 1\n"},
			"main.py:2:1: SyntaxError: 'return' outside function\nreturn 1\n^^^^^^^^\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			code, out := runPython(t, dir, nil, "--check")
			switch {
			case tt.want == "" && code != 0:
				t.Errorf("check failed (exit %d):\n%s", code, out)
			case tt.want != "" && (code != 1 || out != tt.want):
				t.Errorf("exit %d, output:\n%s\nwant exit 1 and:\n%s", code, out, tt.want)
			}
			if strings.Contains(out, "Traceback") {
				t.Errorf("the check printed a traceback:\n%s", out)
			}
		})
	}
}
