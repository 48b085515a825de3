package calls

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// callbackTries is how many times a callback is sent before it is given up.
const callbackTries = 3

// callback POSTs the finished call, with its result, to its callback URL: best effort, a few
// tries with a growing pause, logged when it fails.
func (r *Runner) callback(rec api.Call) {
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
		time.Sleep(time.Duration(try) * time.Second)
	}
	r.log.Warn("callback failed; giving up", "call_id", rec.ID, "url", rec.CallbackURL, "tries", callbackTries, "error", last)
}

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
