package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

func TestInspectShowsCost(t *testing.T) {
	e := newEnv(t)
	e.api.put(api.Function{
		Name:    "warmish",
		Version: api.Version{Number: 1, Image: "hearth/warmish:1", Spec: api.FunctionSpec{Name: "warmish", Runtime: "go"}},
		Cost: &api.FunctionCost{
			Total: api.CostWindow{From: now.Add(-3 * time.Hour), WarmMBSeconds: 1280, BusyMBSeconds: 12.4, PausedMBSeconds: 2560,
				Calls: 40, ColdStartsNew: 2, ColdStartsResumed: 5, ColdStartsAvoided: 30},
			LastHour: api.CostWindow{From: now.Add(-time.Hour), WarmMBSeconds: 640, Calls: 4, ColdStartsAvoided: 1},
			KeepAlive: api.KeepAlive{Source: api.KeepAliveConfigured, IdleTimeout: api.Duration(30 * time.Second),
				PauseTimeout: api.Duration(5 * time.Minute), Samples: 3, Why: "too few idle times"},
		},
	})
	e.api.put(api.Function{
		Name:    "learner",
		Version: api.Version{Number: 1, Image: "hearth/learner:1", Spec: api.FunctionSpec{Name: "learner", Runtime: "go"}},
		Cost: &api.FunctionCost{KeepAlive: api.KeepAlive{Source: api.KeepAliveLearned, IdleTimeout: api.Duration(30 * time.Second),
			PreWarm: api.Duration(20 * time.Second), Window: api.Duration(90 * time.Second), Samples: 50}},
	})

	r := e.run("inspect", "warmish")
	r.wantCode(t, cli.ExitOK)
	for _, want := range []string{
		"\nCOST                                LAST HOUR   SINCE 3H AGO\n",
		"memory warm (ready, idle)           640 MB-s    1.28 GB-s\n",
		"memory busy (serving calls)         0 MB-s      12 MB-s\n",
		"memory paused                       0 MB-s      2.56 GB-s\n",
		"calls                               4           40\n",
		"cold starts, new                    0           2\n",
		"cold starts, resumed                0           5\n",
		"cold starts avoided by keep-alive   1           30\n",
		"Keep-alive: configured: pause after idle_timeout 30s, stop after pause_timeout 5m0s (not learned from 3 idle times: too few idle times)\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.HasSuffix(r.stdout, "\nNo instances running.\n") {
		t.Errorf("the instances no longer end the output:\n%s", r.stdout)
	}

	r = e.run("inspect", "learner")
	r.wantCode(t, cli.ExitOK)
	if want := "Keep-alive: learned from 50 idle times: after a call, none kept until 20s, one kept until 1m30s; a ready one pauses after idle_timeout 30s\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
	}
}
