package client

import (
	"net/http"
	"strings"
)

// WithWarnings makes the Client call notify with the text of every Warning header a response
// carries (RFC 9111: `299 - "memory_mb is deprecated; use memory"` gives
// "memory_mb is deprecated; use memory"). The server uses them to say that a request worked
// but used something on its way out; the CLI prints them on stderr so that the user learns
// before it is gone. notify may be called from any goroutine making a call.
func WithWarnings(notify func(text string)) Option {
	return func(c *Client) { c.onWarning = notify }
}

// warn passes resp's Warning headers to the client's notify func, if it has one.
func (c *Client) warn(resp *http.Response) {
	if c.onWarning == nil {
		return
	}
	for _, v := range resp.Header.Values("Warning") {
		if text := warningText(v); text != "" {
			c.onWarning(text)
		}
	}
}

// warningText returns the quoted warn-text of a Warning header value (`299 - "text"`, perhaps
// followed by a quoted date), or the whole value when it is not in that form, so that nothing
// the server says is lost.
func warningText(v string) string {
	v = strings.TrimSpace(v)
	i := strings.IndexByte(v, '"')
	if i < 0 {
		return v
	}
	var b strings.Builder
	for j := i + 1; j < len(v); j++ {
		switch v[j] {
		case '\\':
			if j+1 < len(v) {
				j++
				b.WriteByte(v[j])
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(v[j])
		}
	}
	return v
}
