// Package trace generates a synthetic trace of function calls shaped like the Azure Functions
// 2019 trace ("Serverless in the Wild", Shahrad et al., USENIX ATC 2020), from a seed: the same
// seed gives the same trace on every machine. `make bench` replays it through the pool's
// keep-alive policies (bench/keepalive.go).
//
// The shape, from the paper's figures:
//   - invocation rates heavy-tailed over eight orders of magnitude (Fig. 5): the log10 of a
//     function's calls per hour is normal, median about one call an hour, 81% of functions at
//     most one call a minute; rates above MaxRate are clipped to it, to keep the replay short;
//   - a mix of triggers (Fig. 3, 4): timers (periodic, a period of 1 to 60 minutes with a
//     little jitter), Poisson arrivals, and bursty ones (bursts of calls seconds apart);
//   - execution times log-normal per function, median under a second (Fig. 7);
//   - memory log-normal, median about 150 MB, 90% under 400 MB (Fig. 9).
package trace
