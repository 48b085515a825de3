package nomad

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
)

// wrapErr turns the error of a Nomad call made on behalf of ctx into the driver's vocabulary,
// prefixed with what was being done:
//   - the caller's ctx ended: its error, so that errors.Is(err, context.Canceled) holds;
//   - Nomad cannot be reached, did not answer within OpTimeout, or has no leader: ErrUnavailable,
//     naming the address;
//   - Nomad's 404: notFound (ErrInstanceNotFound, typically), when given;
//   - Nomad's 403: an error that points at the policy the driver needs;
//   - anything else wrapped as it is, with Nomad's own message.
func (d *Driver) wrapErr(ctx context.Context, err error, notFound error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, ctx.Err())
	case isUnreachable(err):
		return fmt.Errorf("%s: %w", what, &unavailableError{addr: d.cfg.Address, err: err})
	case errors.Is(err, context.DeadlineExceeded):
		// Our own per-operation timeout fired, not the caller's: the server is wedged.
		return fmt.Errorf("%s: %w", what, &unavailableError{
			addr: d.cfg.Address,
			err:  fmt.Errorf("no answer within %v: %w", d.cfg.OpTimeout, err),
		})
	case isNoLeader(err):
		return fmt.Errorf("%s: %w", what, &unavailableError{addr: d.cfg.Address, err: err})
	case notFound != nil && statusCode(err) == http.StatusNotFound:
		return fmt.Errorf("%s: %w", what, notFound)
	case statusCode(err) == http.StatusForbidden:
		return fmt.Errorf("%s: Nomad at %s refused the token (docs/operator/nomad.md says which policy hearth needs): %w",
			what, d.cfg.Address, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isUnreachable reports whether err means no connection to Nomad could be made (or the one
// made broke before an answer).
func isUnreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// isNoLeader reports whether Nomad answered that it cannot serve requests: no cluster leader
// (servers that lost quorum) or a 5xx from a proxy in front of it.
func isNoLeader(err error) bool {
	code := statusCode(err)
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout ||
		(code >= 500 && strings.Contains(err.Error(), "No cluster leader"))
}

// statusCode is the HTTP status of a Nomad answer that was not a 200, or 0.
func statusCode(err error) int {
	var ue api.UnexpectedResponseError
	if errors.As(err, &ue) {
		return ue.StatusCode()
	}
	var uep *api.UnexpectedResponseError
	if errors.As(err, &uep) && uep != nil {
		return uep.StatusCode()
	}
	return 0
}

// unavailableError is a Nomad that cannot be used. It reads "cannot reach Nomad at <address>:
// <why>" and is both driver.ErrUnavailable and the underlying error for errors.Is.
type unavailableError struct {
	addr string
	err  error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("cannot reach Nomad at %s: %v", e.addr, e.err)
}

func (e *unavailableError) Unwrap() []error { return []error{driver.ErrUnavailable, e.err} }
