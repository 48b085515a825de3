// Package auth decides who may do what through hearth's API: it makes and checks API tokens
// (Service) and says whether a token's role and function scope allow an action (Allow).
//
// A token is "hth_<id>_<secret>": the id (64 random bits, hex) names the token in lists and
// revocations; the secret (256 random bits) is shown once, when the token is made, and only
// its SHA-256 is stored. A check looks the id up (cached in memory), hashes the secret and
// compares the hashes in constant time. The secrets are random, not chosen by people, so a fast
// hash is enough: no guess can be checked offline faster than it can be brute-forced online.
//
// Roles and what they allow are in the table of Allow; docs/operator/security.md is the same
// table for operators.
//
// Where to read next: scheduler/httpapi (auth.go applies this to every route), scheduler/server
// (the first admin token).
package auth
