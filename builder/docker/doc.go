// Package docker implements builder.Builder with the Docker Engine's classic builder, through
// the Docker API (github.com/docker/docker/client; engines from API 1.41 up).
//
// A build renders the runtime's Dockerfile and shim (runtimes.Runtime.Render) next to the
// function's source in a deterministic context (builder/buildctx), tags the image
// "<repository>/<function>:<hash[:16]>" from the context's content hash, and builds only when no
// image has that tag. Build log lines are streamed to the request's Progress; a failed step
// becomes builder.ErrBuildFailed carrying that step's output (the compiler's messages).
//
// Function builds run FROM a runtime's toolchain image, which is never pulled: EnsureGoImage
// makes "hearth/go-build:<go version>" from a Go installation on the machine (`hearth images
// bootstrap`). Neither image has a shell, so the Dockerfiles use exec-form RUN only.
//
// Where to read next: builder (the interface), builder/buildctx, runtimes/go (the Go template).
package docker
