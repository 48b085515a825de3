// Package agent is the contract between the scheduler and a node: start, pause, resume and stop
// instances, list them, read their logs. agent/node implements it on a node with a driver.
//
// Where to read next: agent/node (the implementation), agent/driver (what a node runs
// containers through), scheduler/pool (the caller).
package agent
