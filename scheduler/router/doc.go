// Package router is the invoke front door: it takes a call for a function, leases an instance
// from the pool, proxies the request to the instance's endpoint and streams the answer back.
//
// The path is kept short on purpose, because every call pays for it: a lease from the pool (a
// map lookup under one mutex when an instance is warm), one reverse-proxy hop over a keep-alive
// connection, and the release. Nothing on it writes to disk.
//
// What the router decides:
//   - The call's deadline is the function's timeout; past it the call is cut off with a 504 and
//     the instance is replaced (it may still be busy with the call).
//   - A response that carries contract.HeaderFailed (the shim caught a handler crash) goes back
//     to the caller as it is, and the instance is replaced.
//   - A request body over the limit is refused with 413 before an instance is leased.
//   - An async call whose callback URL the CallbackChecker refuses (scheduler/outbound: a
//     loopback, private or own address, a name that does not resolve) gets a 400 and is not
//     queued; the check is made again when the callback is sent.
//
// Where to read next: scheduler/pool (leases), runtimes/contract (headers and error body),
// scheduler/httpapi (which mounts the router at /invoke/{name}).
package router
