package api

import (
	"testing"
	"time"
)

func TestLogQueryMatchesACallByItsIDOrItsEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	l := LogLine{Time: t0, CallID: "01a249a9b48b1c39b80498b55e6f7a8b"}
	for _, tc := range []struct {
		q    LogQuery
		want bool
	}{
		{LogQuery{}, true},
		{LogQuery{CallID: "01a249a9b48b1c39b80498b55e6f7a8b"}, true},
		{LogQuery{CallID: "5e6f7a8b"}, true},  // what `hearth logs` shows in brackets
		{LogQuery{CallID: "01a249a9"}, false}, // the start is a time, shared by nearby calls
		{LogQuery{CallID: "5e6f7a8c"}, false},
		{LogQuery{Since: t0}, true},
		{LogQuery{Since: t0.Add(time.Millisecond)}, false},
	} {
		if got := tc.q.Match(l); got != tc.want {
			t.Errorf("%+v matches %v, want %v", tc.q, got, tc.want)
		}
	}
}
