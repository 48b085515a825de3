package calls

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/scheduler/outbound"
)

// callbackTries is how many times a callback is sent before it is given up.
const callbackTries = 3

// callback POSTs the finished call, with its result, to its callback URL: best effort, a few
// tries with a growing pause, logged when it fails. When ctx ends (the server stops) no
// further try is made: the pause ends at once, so shutdown waits for no callback's retry.
func (r *Runner) callback(ctx context.Context, rec api.Call) {
	body, err := json.Marshal(rec)
	if err != nil {
		r.log.Error("could not encode a callback", "call_id", rec.ID, "error", err)
		return
	}
	var last error
	for try := 1; try <= callbackTries; try++ {
		if last = r.postCallback(rec, body); last == nil {
			return
		}
		if errors.Is(last, outbound.ErrForbiddenAddress) || errors.Is(last, outbound.ErrRedirect) {
			// The policy refused it: trying again would be refused again.
			r.log.Warn("callback not sent: its address is refused (loopback, link-local, private and this server's own addresses are, unless the server runs with --callback-allow-private)",
				"call_id", rec.ID, "url", rec.CallbackURL, "error", last)
			return
		}
		if try == callbackTries {
			break
		}
		pause := time.NewTimer(time.Duration(try) * r.cfg.CallbackPause)
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
			r.log.Warn("callback failed; not tried again: the server is stopping", "call_id", rec.ID, "url", rec.CallbackURL, "tries", try, "error", last)
			return
		}
	}
	r.log.Warn("callback failed; giving up", "call_id", rec.ID, "url", rec.CallbackURL, "tries", callbackTries, "error", last)
}

// postCallback sends one try. It is not cut off by shutdown: a try under way is let finish,
// within the client's timeout, rather than lost.
func (r *Runner) postCallback(rec api.Call, body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rec.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(contract.HeaderCallID, rec.ID)
	resp, err := r.cfg.Callback.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("callback answered %s", resp.Status)
	}
	return nil
}
