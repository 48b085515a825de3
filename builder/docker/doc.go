// Package docker implements builder.Builder with the Docker Engine's classic builder, through
// the Docker API (github.com/docker/docker/client; engines from API 1.41 up).
//
// A build renders the runtime's Dockerfile and shim (runtimes.Runtime.Render) next to the
// function's source in a deterministic context (builder/buildctx), adds the operator's CA bundle
// when one is configured, tags the image "<repository>/<function>:<hash[:16]>" from the
// context's content hash (which covers the bundle and the runtime's images), and builds only
// when no image has that tag. Build log lines are streamed to the request's Progress; a failed
// step becomes builder.ErrBuildFailed carrying that step's output (the compiler's messages). A
// runtime without a template (docker) builds the source's own Dockerfile.
//
// Config.Owner, the server's node id, labels every function image and its build stage
// (hearth.server) and goes into the content hash: servers sharing an engine never share a tag,
// and RemoveImages (remove.go) removes only its own server's images of a function, never
// forcing one a container uses. At most Config.MaxBuilds builds run at once (slots.go); a build
// beyond them says on its Progress that it waits, and a cached build takes no slot.
//
// Function builds run FROM images that are never pulled; `hearth images bootstrap` makes them:
//   - EnsureDebianImage: hearth/debian:bookworm, debootstrap'd on the host, trimmed and
//     imported (debian.go, slim.go);
//   - EnsureRuntimeImages: each runtime's images from its images/ Dockerfiles (baseimages.go);
//   - EnsureGoImage: hearth/go-build:<go version> from a Go installation on the machine. It has
//     no shell, so the Go Dockerfile uses exec-form RUN only.
//
// Config.Images lets an operator use other images for a runtime; Build checks that the engine
// has them, so a missing one is reported with what to run rather than as a failed pull.
//
// With Config.Registry, images are named under the registry ("<registry>/hearth/<function>:
// <hash>") and every Build, cached ones too, pushes its image there (push.go) with the
// registry's credentials, condensing the engine's push output into a few progress lines; a
// push that fails is builder.ErrPushFailed. ValidateRegistry (registry.go) refuses an address
// Docker would read as a Docker Hub account. Status reports the engine's version, or why it
// cannot be reached, for the server's /v1/info.
//
// Where to read next: builder (the interface), builder/buildctx, runtimes (the templates).
package docker
