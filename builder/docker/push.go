package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/builder"
)

// pushReportEvery is how often a push in progress says how far it got. The engine reports
// every layer's progress many times a second; a deploy stream gets a line per layer pushed
// and one of these, not thousands of lines.
const pushReportEvery = 5 * time.Second

// push sends ref to the configured registry through the engine, telling progress (when not
// nil) what it does in a few lines. A failure the engine reports (registry unreachable,
// credentials refused) is builder.ErrPushFailed; an engine that cannot be reached is
// builder.ErrUnavailable.
func (b *Builder) push(ctx context.Context, ref string, progress func(string)) error {
	say := func(line string) {
		if progress != nil {
			progress(line)
		}
	}
	start := b.now()
	say("pushing " + ref)
	rc, err := b.api.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: b.auth})
	if err != nil {
		if ctx.Err() != nil || client.IsErrConnectionFailed(err) {
			return b.engineError(ctx, "push "+ref, err)
		}
		return b.pushFailed(ref, err.Error())
	}
	defer rc.Close()
	t := &pushTracker{say: say, now: b.now, every: pushReportEvery, last: start, layers: map[string]*pushLayer{}}
	failure, err := t.read(rc)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("push %s: %w", ref, ctx.Err())
	case err != nil:
		return b.engineError(ctx, "read the push's output", err)
	case failure != "":
		return b.pushFailed(ref, failure)
	case t.digest == "":
		// An engine that ends the stream early (restarting) must not pass for a push.
		return b.pushFailed(ref, "the engine's answer ended before the registry confirmed the image")
	}
	say(t.summary(ref, b.now().Sub(start)))
	return nil
}

// pushFailed words a failed push so that the operator knows where to look.
func (b *Builder) pushFailed(ref, msg string) error {
	return fmt.Errorf("push %s: %w: %s (the Docker Engine at %s pushes to %s: it must reach the registry, and the registry accept hearth's credentials, if it needs any)",
		ref, builder.ErrPushFailed, strings.TrimSpace(msg), b.host, registryHostPort(b.registry.Address))
}

// pushMessage is one JSON object of the engine's push output (the jsonmessage format).
type pushMessage struct {
	Status         string `json:"status"`
	ID             string `json:"id"`
	ProgressDetail struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Aux *struct {
		Digest string `json:"Digest"`
	} `json:"aux"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// pushLayer is what is known of one layer of a push.
type pushLayer struct {
	status         string
	current, total int64
	done           bool
	existed        bool // the registry had it: nothing was sent
}

// pushTracker condenses a push's output: a line per layer sent (or mounted from another
// repository), a line every `every` while bytes go out, nothing for the layers the registry
// already has (a cached redeploy pushes only those, and says so in its summary).
type pushTracker struct {
	say    func(string)
	now    func() time.Time
	every  time.Duration
	last   time.Time // when the last progress line went out (or the push began)
	order  []string  // layer ids as first seen
	layers map[string]*pushLayer
	digest string
}

// read follows the stream to its end. It returns the engine's error message when the push
// failed, or err when the stream itself could not be read.
func (t *pushTracker) read(r io.Reader) (failure string, err error) {
	dec := json.NewDecoder(r)
	for {
		var m pushMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return "", nil
		} else if err != nil {
			return "", err
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return m.ErrorDetail.Message, nil
		}
		if m.Error != "" {
			return m.Error, nil
		}
		t.handle(m)
	}
}

func (t *pushTracker) handle(m pushMessage) {
	if m.Aux != nil && m.Aux.Digest != "" {
		t.digest = m.Aux.Digest
	}
	if m.ID == "" {
		return // "The push refers to repository [...]", "<tag>: digest: ...": the summary says it
	}
	l := t.layers[m.ID]
	if l == nil {
		l = &pushLayer{}
		t.layers[m.ID] = l
		t.order = append(t.order, m.ID)
	}
	prev := l.status
	l.status = m.Status
	switch {
	case m.Status == "Pushing":
		l.current, l.total = m.ProgressDetail.Current, m.ProgressDetail.Total
		if now := t.now(); now.Sub(t.last) >= t.every {
			t.last = now
			t.say(t.progressLine())
		}
	case m.Status == "Pushed":
		l.done = true
		if l.total > 0 {
			l.current = l.total
			t.say(fmt.Sprintf("layer %s pushed (%s)", m.ID, humanBytes(l.total)))
		} else {
			t.say(fmt.Sprintf("layer %s pushed", m.ID))
		}
	case m.Status == "Layer already exists", strings.HasPrefix(m.Status, "Mounted from "):
		// Mounted: the registry had it under another repository, and links it.
		l.done, l.existed = true, true
	case strings.HasPrefix(m.Status, "Retrying in "):
		// The engine counts down a retry second by second: one line per retry.
		if !strings.HasPrefix(prev, "Retrying in ") {
			t.say(fmt.Sprintf("layer %s: the upload failed; the engine tries again", m.ID))
		}
	}
}

// progressLine says how far the push got: a percentage once every unfinished layer's size is
// known (the engine sends a few layers at a time, and a layer's size comes with its first
// bytes), else the bytes sent.
func (t *pushTracker) progressLine() string {
	var sent, total int64
	done, sizesKnown := 0, true
	for _, l := range t.layers {
		if l.done {
			done++
		}
		if l.existed {
			continue
		}
		sent += l.current
		total += l.total
		if !l.done && l.total == 0 {
			sizesKnown = false
		}
	}
	layers := fmt.Sprintf("%d of %d layers done", done, len(t.layers))
	if sizesKnown && total > 0 {
		return fmt.Sprintf("pushing: %d%% of %s, %s", min(100, sent*100/total), humanBytes(total), layers)
	}
	return fmt.Sprintf("pushing: %s sent, %s", humanBytes(sent), layers)
}

// summary is the last line of a push.
func (t *pushTracker) summary(ref string, took time.Duration) string {
	var sent, existed int
	var bytes int64
	for _, l := range t.layers {
		switch {
		case l.existed:
			existed++
		case l.done:
			sent++
			bytes += l.total
		}
	}
	what := plural(existed, "layer") + " already in the registry"
	if sent > 0 {
		what = fmt.Sprintf("%s sent (%s), %d already in the registry", plural(sent, "layer"), humanBytes(bytes), existed)
	}
	return fmt.Sprintf("pushed %s in %s: %s; digest %s", ref, took.Round(100*time.Millisecond), what, t.digest)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// humanBytes formats n in decimal units, as the engine's own progress does.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n)/unit, 0
	for v >= unit && exp < 3 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGT"[exp])
}
