// Package runtimes is hearth's catalog of language runtimes. A runtime is a folder compiled into
// the binary (//go:embed): runtime.yaml (name, version, build image), Dockerfile.tmpl and the
// shim that wraps the user's handler in the function contract, and scaffold/, the starting point
// `hearth init` writes.
//
// The builder looks a runtime up by the name in func.yaml, calls Runtime.Prepare to read what the
// templates need from the function's source (for Go, the module path), and Runtime.Render to get
// the Dockerfile and shim files it adds to the build context. Nothing here talks to Docker.
//
// Adding a runtime: a new folder shaped like go/, listed in the //go:embed line of embed.go,
// with a README.md stating its contract and a case in Runtime.Prepare for its language.
//
// Where to read next: runtimes/go/README.md (the Go contract), runtimes/contract (what every
// instance promises), builder/docker (how the rendered files become an image).
package runtimes
