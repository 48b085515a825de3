// Package builder turns a function's source and its runtime's template into a container image.
// The scheduler calls it on deploy; builder/docker implements it with the Docker Engine's
// classic builder.
//
// Images are tagged with a content hash of the build context (the function's source, the
// rendered Dockerfile and the runtime's files, and the identity of the server the builder
// builds for), never ":latest": an unchanged redeploy finds its image by tag and skips the
// build. The images are labelled with that server's identity, so that the server removes
// what it made, and only that, when a function is deleted. With a registry configured, every
// image is pushed there after it is built (or found cached), since other nodes pull it from
// there; the builder itself still needs a container engine to build with.
//
// Where to read next: builder/buildctx (the deterministic context and its hash), builder/docker.
package builder

import (
	"context"
	"errors"
	"io/fs"
)

// Builder builds function images.
type Builder interface {
	// Build renders req's runtime template over req.Source and builds the image, sending each
	// build log line to req.Progress as it comes. When an image with the same content hash
	// exists it returns it with Cached set and builds nothing. Errors: ErrUnknownRuntime,
	// ErrBuildFailed (wrapping the build's own message, e.g. the compiler's), ErrUnavailable,
	// ErrPushFailed (with a registry: the image, built or cached, could not be pushed; the
	// push's progress goes to Progress too); ctx cancels the build or the push, or the wait for
	// a build slot when as many builds as the builder allows are running (Progress then says
	// so).
	Build(ctx context.Context, req Request) (Result, error)

	// RemoveImages removes the images this builder made for function (those of other servers
	// sharing the engine stay) and returns how many images went. An image that a container
	// still uses stays: the error then wraps ErrImageInUse, and a later call can finish the
	// job. Other errors: ErrUnavailable. ctx bounds the calls to the engine.
	RemoveImages(ctx context.Context, function string) (removed int, err error)

	// FunctionsWithImages returns the names of the functions that have images this builder
	// made, sorted. Errors: ErrUnavailable.
	FunctionsWithImages(ctx context.Context) ([]string, error)

	// Status says what builds the images, where they go, and whether the builder's engine
	// answers now; ctx bounds the check. It never fails: an engine that cannot be reached is
	// reported in Status.Problem.
	Status(ctx context.Context) Status
}

// Status describes a builder for an operator (the server's /v1/info).
type Status struct {
	// Engine names what builds and its version, e.g. "docker 20.10.24"; the version is missing
	// when the engine cannot be reached.
	Engine string
	// Host is the engine's address, e.g. "unix:///var/run/docker.sock".
	Host string
	// Registry is where built images are pushed ("host[:port][/prefix]"); empty when they stay
	// in the engine that built them.
	Registry string
	// Problem says why the engine cannot be reached; empty when it answers.
	Problem string
}

// Request is one build.
type Request struct {
	// Function is the function's name; it becomes the image repository ("hearth/<name>").
	Function string
	// Runtime names the runtime template (runtimes.Catalog).
	Runtime string
	// Handler is func.yaml's handler; empty means the runtime's default_handler.
	Handler string
	// Source is the function's directory, already filtered by .hearthignore.
	Source fs.FS
	// Progress receives build log lines; it may be nil.
	Progress func(line string)
}

// Result is a built (or reused) image.
type Result struct {
	// Image is "repository:hash", the reference instances are started from; with a registry
	// the repository is under it ("<registry>/hearth/<function>").
	Image string
	// Hash is the content hash of the build context.
	Hash string
	// Cached is true when the image existed and nothing was built.
	Cached bool
}

var (
	// ErrUnknownRuntime: no runtime template with that name.
	ErrUnknownRuntime = errors.New("unknown runtime")
	// ErrBuildFailed: the image build failed; the wrapped message says why.
	ErrBuildFailed = errors.New("build failed")
	// ErrInvalidSource: the source does not fit its runtime (e.g. no go.mod for Go).
	ErrInvalidSource = errors.New("invalid function source")
	// ErrUnavailable: the image builder (Docker) cannot be reached.
	ErrUnavailable = errors.New("image builder unavailable")
	// ErrImageInUse: an image could not be removed because a container still uses it.
	ErrImageInUse = errors.New("image in use")
	// ErrPushFailed: the image could not be pushed to the registry (unreachable, credentials
	// refused, out of space); the wrapped message says why. The image stays in the engine.
	ErrPushFailed = errors.New("image push failed")
)
