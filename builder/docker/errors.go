package docker

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/builder"
)

// ErrBuildImageMissing is returned by Build when the runtime's toolchain image is not in the
// engine. It also wraps builder.ErrUnavailable: the builder cannot work until an operator runs
// `hearth images bootstrap`.
var ErrBuildImageMissing = errors.New("build image missing")

// joined is an error with the text of err that also matches sentinel, for errors that belong to
// two vocabularies (runtimes' and builder's) without saying "unknown runtime" twice.
type joined struct {
	err      error
	sentinel error
}

func (j joined) Error() string   { return j.err.Error() }
func (j joined) Unwrap() []error { return []error{j.sentinel, j.err} }

func also(sentinel, err error) error { return joined{err: err, sentinel: sentinel} }

// engineError wraps an error from the Docker API: a connection failure becomes
// builder.ErrUnavailable naming the host, a cancelled ctx stays ctx's error.
func (b *Builder) engineError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%s: %w: Docker at %s: %v", op, builder.ErrUnavailable, b.host, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
