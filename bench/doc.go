// Command bench measures hearth against the raw floors on this machine, in one run, and prints
// them side by side with their ratios: a warm call through hearth against a direct call to the
// same instance, hearth's cold start against a raw Docker create+start+ready, and each runtime's
// image size and time to ready. It writes the same figures as JSON.
//
// It drives a real `hearth server --dev` (the binary given by -bin) and the real Docker Engine;
// `make bench` builds and runs it. Figures are noisy on shared machines: compare ratios from one
// run, never absolute numbers across runs.
package main
