package docker

import (
	"bytes"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/runtimes"
)

// labeledDockerfilePath is the copy of the function's Dockerfile, with the image's labels on one
// LABEL line at its end, that the engine is told to build.
const labeledDockerfilePath = ".hearth/Dockerfile.labeled"

// addLabelLine puts labels on the image through one LABEL instruction appended to a copy of
// the Dockerfile, and returns the Dockerfile the build must use. The engine's own way
// (ImageBuildOptions.Labels) adds one instruction per label, each a step of about 0.1 s that
// every deploy pays: six of them were a fifth of a Go function's save-to-live time.
//
// It is called after the context's hash was taken: the labels hold that hash, and the copy
// adds nothing the hash does not already cover. ok is false when the labels must go the
// engine's way after all: a Dockerfile that is not there to copy, or one whose last line
// continues onto the next.
func addLabelLine(bc *buildctx.Context, rt runtimes.Runtime, src fs.FS, rendered []runtimes.File, labels map[string]string) (dockerfile string, ok bool) {
	name := rt.Dockerfile()
	var data []byte
	for _, f := range rendered {
		if f.Path == name {
			data = f.Data
		}
	}
	if data == nil {
		b, err := fs.ReadFile(src, name)
		if err != nil {
			return name, false
		}
		data = b
	}
	body := bytes.TrimRight(data, " \t\r\n")
	if bytes.HasSuffix(body, []byte(`\`)) || bytes.HasSuffix(body, []byte("`")) {
		return name, false
	}
	var line strings.Builder
	line.WriteString("\nLABEL")
	// Every value is a name hearth checked (function, runtime, server) or a hex hash: none
	// needs quoting, and quotes keep it so should that change.
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		line.WriteString(" " + k + `="` + labels[k] + `"`)
	}
	line.WriteString("\n")
	out := append(append([]byte{}, body...), line.String()...)
	if err := bc.AddFile(labeledDockerfilePath, out, 0o644); err != nil {
		return name, false
	}
	return labeledDockerfilePath, true
}
