package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/agent/driver"
)

// wrapErr turns an error of a Docker call made on behalf of ctx into the driver's vocabulary,
// prefixed with what was being done:
//   - the engine cannot be reached, or did not answer within OpTimeout: ErrUnavailable, naming
//     the host;
//   - Docker's not-found: notFound (ErrInstanceNotFound or ErrImageNotFound, depending on what
//     was looked up), when given;
//   - anything else, including the caller's ctx ending, wrapped as it is.
func (d *Driver) wrapErr(ctx context.Context, err error, notFound error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case isUnreachable(err):
		return fmt.Errorf("%s: %w", what, &unavailableError{host: d.cfg.Host, err: err})
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		// Our own per-operation timeout fired, not the caller's: the engine is wedged.
		return fmt.Errorf("%s: %w", what, &unavailableError{
			host: d.cfg.Host,
			err:  fmt.Errorf("no answer within %v: %w", d.cfg.OpTimeout, err),
		})
	case notFound != nil && isNotFound(err):
		return fmt.Errorf("%s: %w", what, notFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isUnreachable reports whether err means the engine could not be reached at all.
func isUnreachable(err error) bool {
	if client.IsErrConnectionFailed(err) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// unavailableError is an engine that cannot be reached. It reads "cannot reach Docker at <host>:
// <why>" and is both driver.ErrUnavailable and the underlying error for errors.Is.
type unavailableError struct {
	host string
	err  error
}

func (e *unavailableError) Error() string {
	why := e.err.Error()
	if strings.HasPrefix(why, "Cannot connect to the Docker daemon") {
		// The client's own text repeats the host and carries nothing more.
		why = "is the Docker daemon running?"
	}
	return fmt.Sprintf("cannot reach Docker at %s: %s", e.host, why)
}

func (e *unavailableError) Unwrap() []error { return []error{driver.ErrUnavailable, e.err} }
