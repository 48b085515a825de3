package contracttest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/runtimes/contract"
)

// EnvValue is what a contract function's func.yaml sets CONTRACT_ENV to.
const EnvValue = "from-func-yaml"

// LargeBody is the size of the large bodies sent and expected back: the contract promises at
// least 6 MB each way.
const LargeBody = 6 << 20

// Concurrency is how many calls the suite makes at once; the contract function's func.yaml
// allows as many on one instance.
const Concurrency = 16

// Options tune Run.
type Options struct {
	// Timeout is the function's timeout (func.yaml). When set, Run checks that a call that
	// outlives it is cut off with 504; zero skips that check.
	Timeout time.Duration
	// Client makes the calls; nil means a client with a one-minute timeout (a cold start and a
	// 6 MB body fit well within it).
	Client *http.Client
}

// Run checks the function at baseURL ("<server>/invoke/<function>") against the contract. Each
// promise is a subtest; the checks that make the platform replace an instance (a failure, a
// timeout) come last.
func Run(t *testing.T, baseURL string, opts Options) {
	t.Helper()
	s := &suite{base: strings.TrimSuffix(baseURL, "/"), client: opts.Client}
	if s.client == nil {
		s.client = &http.Client{Timeout: time.Minute}
	}
	t.Run("Ready", s.ready)
	t.Run("Echo", s.echo)
	t.Run("Status", s.status)
	t.Run("Info", s.info)
	t.Run("LargeBody", s.largeBody)
	t.Run("Concurrent", s.concurrent)
	t.Run("HandlerError", s.handlerError)
	if opts.Timeout > 0 {
		t.Run("Timeout", func(t *testing.T) { s.timeout(t, opts.Timeout) })
	}
}

type suite struct {
	base   string
	client *http.Client
}

// response is a call's outcome, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func (s *suite) call(t *testing.T, method, path string, header http.Header, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data, took: time.Since(start)}
}

func (s *suite) ready(t *testing.T) {
	r := s.call(t, http.MethodGet, contract.ReadyPath, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s = %d %q, want 200", contract.ReadyPath, r.status, clip(r.body))
	}
}

func (s *suite) echo(t *testing.T) {
	body := []byte("hello, contract \x00\xff binary too")
	h := http.Header{"Content-Type": {"application/x-contract"}, "X-Echo-One": {"1"}, "X-Echo-Two": {"two words"},
		"X-Other": {"not echoed"}}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
		r := s.call(t, method, "/echo", h, body)
		if r.status != http.StatusOK || !bytes.Equal(r.body, body) {
			t.Fatalf("%s /echo = %d %q, want 200 and the body back", method, r.status, clip(r.body))
		}
		if ct := r.header.Get("Content-Type"); ct != "application/x-contract" {
			t.Errorf("%s /echo: Content-Type = %q, want the request's", method, ct)
		}
		if r.header.Get("X-Echo-One") != "1" || r.header.Get("X-Echo-Two") != "two words" {
			t.Errorf("%s /echo: X-Echo-* headers not copied: %v", method, r.header)
		}
		if r.header.Get("X-Other") != "" {
			t.Errorf("%s /echo: X-Other was copied; only X-Echo-* should be", method)
		}
	}
	// An empty body is a body too.
	if r := s.call(t, http.MethodPost, "/echo", nil, nil); r.status != http.StatusOK || len(r.body) != 0 {
		t.Errorf("POST /echo with no body = %d %q", r.status, clip(r.body))
	}
}

func (s *suite) status(t *testing.T) {
	for _, code := range []int{http.StatusCreated, http.StatusNotFound, http.StatusTeapot} {
		r := s.call(t, http.MethodPost, fmt.Sprintf("/echo?status=%d", code), http.Header{"Content-Type": {"text/plain"}}, []byte("s"))
		if r.status != code || string(r.body) != "s" {
			t.Errorf("/echo?status=%d = %d %q", code, r.status, clip(r.body))
		}
	}
}

// info is /info's answer.
type info struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Query    string `json:"query"`
	CallID   string `json:"call_id"`
	Deadline string `json:"deadline"`
	Env      string `json:"env"`
}

func (s *suite) info(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		sent := time.Now()
		r := s.call(t, method, "/info?a=1&b=two%20words", nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s /info = %d %q", method, r.status, clip(r.body))
		}
		var got info
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatalf("%s /info: %v in %q", method, err, clip(r.body))
		}
		if got.Method != method || got.Path != "/info" || got.Query != "a=1&b=two%20words" {
			t.Errorf("%s /info: request seen as %s %s ? %s", method, got.Method, got.Path, got.Query)
		}
		if got.CallID == "" || got.CallID != r.header.Get(contract.HeaderCallID) {
			t.Errorf("%s /info: call id %q, response's %s header %q: want equal and not empty",
				method, got.CallID, contract.HeaderCallID, r.header.Get(contract.HeaderCallID))
		}
		deadline, err := time.Parse(time.RFC3339Nano, got.Deadline)
		if err != nil {
			t.Errorf("%s /info: deadline %q: %v", method, got.Deadline, err)
		} else if deadline.Before(sent) {
			t.Errorf("%s /info: deadline %s is before the call was made (%s)", method, deadline, sent)
		}
		if got.Env != EnvValue {
			t.Errorf("%s /info: CONTRACT_ENV = %q, want %q (func.yaml's env)", method, got.Env, EnvValue)
		}
	}
}

func (s *suite) largeBody(t *testing.T) {
	body := make([]byte, LargeBody)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	r := s.call(t, http.MethodPost, "/echo", http.Header{"Content-Type": {"application/octet-stream"}}, body)
	if r.status != http.StatusOK || len(r.body) != len(body) || sha256.Sum256(r.body) != sha256.Sum256(body) {
		t.Fatalf("POST /echo with %d bytes = %d with %d bytes back (equal: %v)", len(body), r.status, len(r.body),
			bytes.Equal(r.body, body))
	}
}

// concurrent checks that calls on one function are served at once and kept apart: each of
// Concurrency echoes gets its own body back, and as many sleeps take far less than their sum.
func (s *suite) concurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 2*Concurrency)
	for i := range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte(fmt.Sprintf("call %d;", i)), 1000+i)
			resp, err := s.client.Post(s.base+"/echo", "text/plain", bytes.NewReader(body))
			if err != nil {
				errs <- err.Error()
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
				errs <- fmt.Sprintf("echo %d: %d, %d bytes back, err %v", i, resp.StatusCode, len(got), err)
			}
		}()
	}
	wg.Wait()

	const sleep = 500 * time.Millisecond
	start := time.Now()
	for i := range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.client.Get(fmt.Sprintf("%s/sleep?ms=%d", s.base, sleep.Milliseconds()))
			if err != nil {
				errs <- err.Error()
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(got) != "slept" {
				errs <- fmt.Sprintf("sleep %d: %d %q", i, resp.StatusCode, clip(got))
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// One call at a time would take Concurrency*sleep (8 s), two at a time 4 s; a third of
	// the serial time leaves room for a busy machine and still catches both.
	if limit := Concurrency * sleep / 3; took > limit {
		t.Errorf("%d concurrent %s sleeps took %s, want under %s: calls are not served concurrently",
			Concurrency, sleep, took.Round(time.Millisecond), limit)
	}
}

func (s *suite) handlerError(t *testing.T) {
	r := s.call(t, http.MethodPost, "/fail", nil, []byte("x"))
	if r.status != http.StatusInternalServerError {
		t.Fatalf("/fail = %d %q, want 500", r.status, clip(r.body))
	}
	var eb contract.ErrorBody
	if err := json.Unmarshal(r.body, &eb); err != nil {
		t.Fatalf("/fail: the body is not the JSON error body: %v in %q", err, clip(r.body))
	}
	if eb.Error.Code != contract.CodeHandlerError || !strings.Contains(eb.Error.Message, "contract failure") {
		t.Errorf("/fail: error = %+v, want code %s and the handler's message", eb.Error, contract.CodeHandlerError)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("/fail: Content-Type = %q, want application/json", ct)
	}
	// The failed instance is replaced; the function keeps answering.
	if r := s.call(t, http.MethodPost, "/echo", nil, []byte("after")); r.status != http.StatusOK || string(r.body) != "after" {
		t.Errorf("/echo after /fail = %d %q", r.status, clip(r.body))
	}
}

func (s *suite) timeout(t *testing.T, timeout time.Duration) {
	r := s.call(t, http.MethodGet, fmt.Sprintf("/sleep?ms=%d", (10*timeout).Milliseconds()), nil, nil)
	if r.status != http.StatusGatewayTimeout {
		t.Fatalf("/sleep for 10x the timeout = %d %q after %s, want 504", r.status, clip(r.body), r.took)
	}
	// "A few seconds" of slack: the cut-off itself is immediate, but the call may have waited
	// for an instance (a replacement after /fail) before its clock started.
	if limit := timeout + 5*time.Second; r.took > limit {
		t.Errorf("the 504 came after %s, want within %s of a %s timeout", r.took.Round(time.Millisecond), limit-timeout, timeout)
	}
	var eb contract.ErrorBody
	if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error.Code != contract.CodeTimeout {
		t.Errorf("504 body = %q, want the error body with code %s", clip(r.body), contract.CodeTimeout)
	}
}

// clip keeps failure messages readable when a body is large or binary.
func clip(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}
