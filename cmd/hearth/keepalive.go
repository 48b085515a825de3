package main

import "fmt"

// keepAliveMode is the server's --keep-alive: whether the pool learns how long to keep each
// function's idle instances from its calls (scheduler/keepalive) or keeps them by the
// function's idle_timeout and pause_timeout alone.
type keepAliveMode string

const (
	keepAliveLearned keepAliveMode = "learned"
	keepAliveFixed   keepAliveMode = "fixed"
)

func (m *keepAliveMode) String() string {
	if *m == "" {
		return string(keepAliveLearned)
	}
	return string(*m)
}

func (m *keepAliveMode) Set(s string) error {
	switch keepAliveMode(s) {
	case keepAliveLearned, keepAliveFixed:
		*m = keepAliveMode(s)
		return nil
	}
	return fmt.Errorf("%q is not a keep-alive: use learned or fixed", s)
}

func (m *keepAliveMode) Type() string { return "learned|fixed" }
