package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
)

// upgradeTimeout bounds the connect handshake when the caller's ctx has no earlier deadline.
const upgradeTimeout = 30 * time.Second

// StatusError is an error answer of the cluster listener (or of the agent's API): the HTTP
// status and the ErrorBody's code and message.
type StatusError struct {
	StatusCode int
	Code       string
	Message    string
}

func (e *StatusError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Message, e.StatusCode)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// ReadStatusError reads the ErrorBody of a non-2xx answer. A body that is not an ErrorBody
// (a proxy's page, a server that is not hearth) becomes the message, cut short.
func ReadStatusError(resp *http.Response) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body ErrorBody
	if err := json.Unmarshal(b, &body); err == nil && body.Error.Message != "" {
		return &StatusError{StatusCode: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &StatusError{StatusCode: resp.StatusCode, Message: fmt.Sprintf("unexpected answer: %s", msg)}
}

// WriteError writes an ErrorBody answer.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(ErrorBody{Error: ErrorDetail{Code: code, Message: message}}) //nolint:errcheck // the peer went away
}

// DialUpgrade sends the connect request on conn (a TLS connection to the cluster listener whose
// host is host) and reads the answer. On 101 it returns the connection to run the yamux client
// on; otherwise a *StatusError with the server's answer. ctx bounds the handshake only.
func DialUpgrade(ctx context.Context, conn net.Conn, host string) (net.Conn, error) {
	deadline := time.Now().Add(upgradeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	// A ctx that ends mid-handshake unblocks the read through the deadline.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) }) //nolint:errcheck // best effort
	defer stop()

	req, err := http.NewRequest(http.MethodGet, "https://"+host+ConnectPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", UpgradeProtocol)
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("send the connect request: %w", ctxErr(ctx, err))
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("read the connect answer: %w", ctxErr(ctx, err))
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		return nil, ReadStatusError(resp)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), UpgradeProtocol) {
		return nil, fmt.Errorf("the server switched to %q, not %s", resp.Header.Get("Upgrade"), UpgradeProtocol)
	}
	if !stop() {
		return nil, ctx.Err()
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return withBuffered(conn, br), nil
}

// ctxErr returns ctx's error instead of err when ctx ended (the deadline of conn is ctx's, so
// a read may time out a moment before ctx says it is done).
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return err
}

// ErrNotUpgrade: a request to ConnectPath without the upgrade headers.
var ErrNotUpgrade = errors.New("not a hearth-agent/1 upgrade request")

// AcceptUpgrade is the server's half of the connect handshake: it checks r's upgrade headers,
// takes over the connection and answers 101. The caller has already authenticated the node
// (and answered 401 node_unknown itself otherwise). On a request that is no upgrade it answers
// 400 bad_request and returns ErrNotUpgrade. The returned connection has no deadline; run the
// yamux server on it.
func AcceptUpgrade(w http.ResponseWriter, r *http.Request) (net.Conn, error) {
	if r.Method != http.MethodGet || !headerHasToken(r.Header, "Connection", "upgrade") ||
		!strings.EqualFold(r.Header.Get("Upgrade"), UpgradeProtocol) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			fmt.Sprintf("%s takes GET with Connection: Upgrade and Upgrade: %s", ConnectPath, UpgradeProtocol))
		return nil, ErrNotUpgrade
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "internal", "cannot take over the connection: "+err.Error())
		return nil, fmt.Errorf("hijack the connect request: %w", err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + UpgradeProtocol + "\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return withBuffered(conn, brw.Reader), nil
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// withBuffered returns conn, reading first what br has already read from it.
func withBuffered(conn net.Conn, br *bufio.Reader) net.Conn {
	if br.Buffered() == 0 {
		return conn
	}
	return &bufferedConn{Conn: conn, r: io.MultiReader(io.LimitReader(br, int64(br.Buffered())), conn)}
}

type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// SessionConfig is the yamux configuration of both ends of a session. Keep-alive pings every
// 5 s close a session whose connection died silently within seconds, well before the server's
// node timeout; yamux's own log goes to log at debug level.
func SessionConfig(log *slog.Logger) *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.KeepAliveInterval = 5 * time.Second
	cfg.ConnectionWriteTimeout = 10 * time.Second
	cfg.LogOutput = nil
	cfg.Logger = yamuxLogger{log}
	return cfg
}

type yamuxLogger struct{ log *slog.Logger }

func (l yamuxLogger) Print(v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprint(v...)), "component", "yamux")
}
func (l yamuxLogger) Printf(format string, v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "yamux")
}
func (l yamuxLogger) Println(v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintln(v...)), "component", "yamux")
}
