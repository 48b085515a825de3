package runtimes

import "embed"

// embedded holds every runtime folder. Each runtime is listed by name, so that a stray folder
// does not become a runtime by accident.
//
//go:embed go
var embedded embed.FS
