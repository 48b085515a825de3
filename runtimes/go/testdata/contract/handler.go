// Package handler is the go runtime's contract function: /echo, /fail, /sleep and /info, as
// runtimes/contract/contracttest expects.
package handler

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Handle answers by path.
func Handle(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/echo":
		echo(w, r)
	case "/fail":
		// The shim turns a panic into the contract's 500 and replaces the instance.
		panic("contract failure")
	case "/sleep":
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond) // on purpose deaf to the deadline
		io.WriteString(w, "slept")
	case "/info":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"method":   r.Method,
			"path":     r.URL.Path,
			"query":    r.URL.RawQuery,
			"call_id":  r.Header.Get("Hearth-Call-Id"),
			"deadline": r.Header.Get("Hearth-Deadline"),
			"env":      os.Getenv("CONTRACT_ENV"),
		})
	default:
		http.NotFound(w, r)
	}
}

func echo(w http.ResponseWriter, r *http.Request) {
	for k, v := range r.Header {
		if strings.HasPrefix(k, "X-Echo-") {
			w.Header()[k] = v
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		var err error
		if status, err = strconv.Atoi(s); err != nil {
			http.Error(w, "status must be a number", http.StatusBadRequest)
			return
		}
	}
	// Read the whole body before answering: net/http may close an HTTP/1 request body once
	// the response has started.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(status)
	w.Write(body)
}
