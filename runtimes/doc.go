// Package runtimes is hearth's catalog of language runtimes. A runtime is a folder compiled into
// the binary (//go:embed) with a runtime.yaml: its name, version, images and the files a
// function must have. Beside it, Dockerfile.tmpl and shim/ (the shim wraps the user's handler in
// the function contract), scaffold/ (what `hearth init` writes) and images/ (the Dockerfiles of
// the base images `hearth images bootstrap` makes). A runtime without Dockerfile.tmpl (docker)
// builds the function's own Dockerfile as it is.
//
// The builder looks a runtime up by the name in func.yaml, calls Runtime.PrepareSource to check
// the source and gather the template data (BuildData: images, handler, CA bundle, and .Has for
// optional files such as requirements.txt), and Runtime.Render to get the Dockerfile and shim
// files it adds to the build context. Nothing here talks to Docker. Only Go needs code of its
// own (golang.go: the module path); every other runtime is data.
//
// Adding a runtime: a new folder shaped like python/ (runtime.yaml, Dockerfile.tmpl, shim/,
// scaffold/, images/, README.md, testdata/contract/), and an e2e test that runs contracttest on
// it. TestEveryRuntimeFitsTogether checks the folder is whole.
//
// Where to read next: runtimes/go/README.md (the Go contract), runtimes/contract (what every
// instance promises) and contract/contracttest (the suite that checks it), builder/docker (how
// the rendered files become an image).
package runtimes
