// Package contracttest is the function contract's conformance suite: Run drives a deployed
// contract function (runtimes/<name>/testdata/contract) through hearth and checks every promise
// of docs/user/function-contract.md that a caller can see. Every runtime's e2e test runs it, and
// so does the custom (docker) example, so that all images keep the same contract.
//
// A contract function answers, by request path:
//   - /echo: the request body unchanged, with status from the query's "status" (default 200),
//     the request's Content-Type, and every X-Echo-* request header;
//   - /fail: fails with the message "contract failure" (raise, throw or panic);
//   - /sleep: sleeps for the query's "ms" milliseconds, ignoring the deadline, then answers "slept";
//   - /info: JSON {"method","path","query","call_id","deadline","env"}, where query is the raw
//     query string and env is the value of CONTRACT_ENV.
//
// Its func.yaml sets timeout 2s, concurrency 16 and env CONTRACT_ENV: "from-func-yaml".
package contracttest
