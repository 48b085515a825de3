package output_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/hearthfn/hearth/cli/output"
)

func TestFormatSet(t *testing.T) {
	var f output.Format
	if f.String() != "text" {
		t.Errorf("zero Format = %q, want text", f.String())
	}
	for in, want := range map[string]output.Format{"json": output.JSON, "text": output.Text, "table": output.Text} {
		if err := f.Set(in); err != nil || f != want {
			t.Errorf("Set(%q) = %q, %v", in, f, err)
		}
	}
	if err := f.Set("yaml"); err == nil {
		t.Error("Set(yaml) succeeded")
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	tb := output.NewTable(&b, "name", "version")
	tb.Row("hello", 3)
	tb.Row("a\tb\nc", "")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "NAME    VERSION\nhello   3\na b c   -\n"
	if b.String() != want {
		t.Errorf("table =\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWriteFields(t *testing.T) {
	var b bytes.Buffer
	if err := output.WriteFields(&b, []output.Field{{"Name", "hello"}, {"Idle timeout", "30s"}}); err != nil {
		t.Fatal(err)
	}
	want := "Name:          hello\nIdle timeout:  30s\n"
	if b.String() != want {
		t.Errorf("fields =\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := output.WriteJSON(&b, map[string]string{"url": "http://x/?a=1&b=<2>"}); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"url\": \"http://x/?a=1&b=<2>\"\n}\n"; b.String() != want {
		t.Errorf("json = %q, want %q", b.String(), want)
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "-"},
		{now.Add(time.Minute), "just now"},
		{now.Add(-5 * time.Second), "just now"},
		{now.Add(-42 * time.Second), "42s ago"},
		{now.Add(-5 * time.Minute), "5m ago"},
		{now.Add(-3 * time.Hour), "3h ago"},
		{now.Add(-50 * time.Hour), "2d ago"},
	}
	for _, tt := range tests {
		if got := output.Ago(now, tt.t); got != tt.want {
			t.Errorf("Ago(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3277: "3.2 KiB", 14 << 20: "14.0 MiB"} {
		if got := output.Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
