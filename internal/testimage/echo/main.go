// Command echo is the test image's server: a tiny function instance obeying the function
// contract, whose behaviour each request chooses through query parameters. internal/testimage
// builds it into a FROM scratch image; see that package for the parameters.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host, _ := os.Hostname()
	srv := &http.Server{Addr: ":" + port, Handler: recoverPanics(handler(host)), ReadHeaderTimeout: 10 * time.Second}

	// As PID 1 in its container the server would ignore SIGTERM without a handler, and every
	// docker stop would wait out the whole grace period.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		fmt.Println("hearth-test-echo: shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Printf("hearth-test-echo: listening on :%s as %s\n", port, host)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "hearth-test-echo:", err)
		os.Exit(1)
	}
}

func handler(host string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("hearth-test-echo: %s %s\n", r.Method, r.URL.RequestURI())
		w.Header().Set("X-Instance", host)
		switch r.URL.Path {
		case "/_/ready":
			_, _ = io.WriteString(w, "ok\n")
			return
		case "/_probe":
			probe(w, r)
			return
		case "/_dial":
			dial(w, r)
			return
		}
		q := r.URL.Query()
		if d, err := time.ParseDuration(q.Get("sleep")); err == nil && d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		if q.Get("panic") == "1" {
			panic("panic requested by the caller")
		}
		status := http.StatusOK
		if s, err := strconv.Atoi(q.Get("status")); err == nil && s >= 100 && s <= 999 {
			status = s
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		_, _ = io.Copy(w, r.Body)
		if code, err := strconv.Atoi(q.Get("exit")); err == nil {
			// Let the response reach the caller before the process ends.
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			go func() {
				time.Sleep(100 * time.Millisecond)
				fmt.Printf("hearth-test-echo: exiting with code %d\n", code)
				os.Exit(code)
			}()
		}
	})
}

// recoverPanics answers a panicking request with the contract's 500 error body instead of
// net/http's dropped connection, and keeps serving.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				fmt.Printf("hearth-test-echo: panic: %v\n", v)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_ = json.NewEncoder(w).Encode(map[string]any{
					"error": map[string]string{"code": "handler_error", "message": fmt.Sprint(v)},
				})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
