package api

import "github.com/hearthfn/hearth/runtimes/contract"

// ErrorBody is the one shape of every error body hearth writes:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
type ErrorBody = contract.ErrorBody

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail = contract.ErrorDetail

// Error codes the API uses. They are stable: clients may switch on them.
const (
	CodeInvalid          = "invalid"            // 400: a field is wrong; Field names it
	CodeNotFound         = "not_found"          // 404
	CodeConflict         = "conflict"           // 409
	CodeTooLarge         = "too_large"          // 413
	CodeUnavailable      = "unavailable"        // 503: Docker (or another engine) cannot be reached
	CodeQueueFull        = "queue_full"         // 503 with Retry-After: the function's queue of waiting calls is full
	CodeNoCapacity       = "no_capacity"        // 503: the function needs more than the node can give one instance
	CodeBuildFailed      = "build_failed"       // in a deploy stream: the image did not build
	CodeTimeout          = contract.CodeTimeout // 504: the call ran past the function's timeout
	CodeHandlerError     = contract.CodeHandlerError
	CodeInstanceFailed   = "instance_failed"        // 502: the instance died or could not start
	CodeInternal         = "internal"               // 500
	CodeCanceled         = "canceled"               // 499: the client closed the request first
	CodeUnauthorized     = "unauthorized"           // 401: no token, or one that is unknown, revoked or expired
	CodeForbidden        = "forbidden"              // 403: the token's role or function scope does not allow this; or a cross-site request
	CodeUnsupportedMedia = "unsupported_media_type" // 415: a state-changing request without its proper Content-Type
)
