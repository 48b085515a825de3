package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// callColumns are the columns of an api.Call without its result, in the order of callArgs and
// scanCall.
const callColumns = `id, function, version, async, status, http_status, created_at, started_at,
	finished_at, duration_ms, instance, cold, error, attempts, callback_url, alias, trigger_mark`

// resultColumns hold an async call's api.CallResult, in the order of resultArgs and scanResult.
const resultColumns = `result_status, result_headers, result_body`

// callArgs are c's values for callColumns.
func callArgs(c api.Call) []any {
	return []any{c.ID, c.Function, c.Version, c.Async, string(c.Status), c.HTTPStatus,
		c.CreatedAt.UnixNano(), nanos(c.StartedAt), nanos(c.FinishedAt), c.DurationMS,
		c.Instance, c.Cold, c.Error, c.Attempts, c.CallbackURL, c.Alias, c.Trigger}
}

// callColumnCount is the number of callColumns.
var callColumnCount = len(callArgs(api.Call{}))

// placeholders returns n SQL parameters, "?, ?, ...", for a statement over columns counted
// rather than written out (callColumnCount + ...), so that a new column needs no recount.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// resultArgs are r's values for resultColumns: all NULL when r is nil.
func resultArgs(r *api.CallResult) ([]any, error) {
	if r == nil {
		return []any{nil, nil, nil}, nil
	}
	var headers any
	if len(r.Headers) > 0 {
		b, err := json.Marshal(r.Headers)
		if err != nil {
			return nil, fmt.Errorf("encode result headers: %w", err)
		}
		headers = string(b)
	}
	body := r.Body
	if body == nil {
		body = []byte{} // NULL stays for "no result"; an empty answer is an empty blob
	}
	return []any{r.Status, headers, body}, nil
}

// requestArgs are req's values for the request and request_body columns: the request as JSON
// without its body, which goes in a blob of its own (JSON would grow it by a third).
func requestArgs(req store.AsyncRequest) ([]any, error) {
	body := req.Body
	if body == nil {
		body = []byte{}
	}
	req.Body = nil
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return []any{string(b), body}, nil
}

// callRow receives callColumns; its fields become an api.Call in call.
type callRow struct {
	c                   api.Call
	status              string
	created             int64
	started, finished   sql.NullInt64
	version, httpStatus int64
	attempts            int64
}

func (r *callRow) dest() []any {
	return []any{&r.c.ID, &r.c.Function, &r.version, &r.c.Async, &r.status, &r.httpStatus,
		&r.created, &r.started, &r.finished, &r.c.DurationMS, &r.c.Instance, &r.c.Cold,
		&r.c.Error, &r.attempts, &r.c.CallbackURL, &r.c.Alias, &r.c.Trigger}
}

func (r *callRow) call() api.Call {
	c := r.c
	c.Version, c.HTTPStatus, c.Attempts = int(r.version), int(r.httpStatus), int(r.attempts)
	c.Status = api.CallStatus(r.status)
	c.CreatedAt = time.Unix(0, r.created).UTC()
	c.StartedAt, c.FinishedAt = fromNanos(r.started), fromNanos(r.finished)
	return c
}

// resultRow receives resultColumns.
type resultRow struct {
	status  sql.NullInt64
	headers sql.NullString
	body    []byte
}

func (r *resultRow) dest() []any { return []any{&r.status, &r.headers, &r.body} }

// result is the stored result, nil when the call has none.
func (r *resultRow) result() (*api.CallResult, error) {
	if !r.status.Valid {
		return nil, nil
	}
	res := &api.CallResult{Status: int(r.status.Int64), Body: r.body}
	if res.Body == nil {
		res.Body = []byte{}
	}
	if r.headers.Valid {
		if err := json.Unmarshal([]byte(r.headers.String), &res.Headers); err != nil {
			return nil, fmt.Errorf("decode result headers: %w", err)
		}
	}
	return res, nil
}

// scanCall reads a row of callColumns.
func scanCall(row scanner) (api.Call, error) {
	var r callRow
	if err := row.Scan(r.dest()...); err != nil {
		return api.Call{}, err
	}
	return r.call(), nil
}

// scanCallResult reads a row of callColumns then resultColumns.
func scanCallResult(row scanner) (api.Call, error) {
	var (
		r   callRow
		res resultRow
	)
	if err := row.Scan(append(r.dest(), res.dest()...)...); err != nil {
		return api.Call{}, err
	}
	c := r.call()
	var err error
	if c.Result, err = res.result(); err != nil {
		return api.Call{}, fmt.Errorf("call %s: %w", c.ID, err)
	}
	return c, nil
}

// scanAsync reads a row of callColumns then due, request and request_body.
func scanAsync(row scanner) (store.AsyncCall, error) {
	var (
		r       callRow
		due     sql.NullInt64
		request string
		body    []byte
	)
	if err := row.Scan(append(r.dest(), &due, &request, &body)...); err != nil {
		return store.AsyncCall{}, err
	}
	a := store.AsyncCall{Call: r.call(), Due: fromNanos(due)}
	if err := json.Unmarshal([]byte(request), &a.Request); err != nil {
		return store.AsyncCall{}, fmt.Errorf("decode request of call %s: %w", a.Call.ID, err)
	}
	a.Request.Body = body
	return a, nil
}

// nanos is t for a nullable time column: NULL when t is zero.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
