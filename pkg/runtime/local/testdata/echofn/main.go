// Command echofn is the function the local runtime tests run: an HTTP server on $PORT.
//
//	GET /healthz           200 (503 while env UNHEALTHY is set)
//	POST /?sleep=DURATION  echoes the body, after sleeping DURATION if given
//
// It prints "pid=PID port=PORT" once listening, "slow request started" when a request
// begins to sleep, and "sigterm inflight=N" on SIGTERM; then it shuts down gracefully and
// prints "exiting", or, with env IGNORE_SIGTERM set, prints "sigterm ignored" and runs on.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	var inflight atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("UNHEALTHY") != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Add(-1)
		if d, err := time.ParseDuration(r.URL.Query().Get("sleep")); err == nil {
			fmt.Println("slow request started")
			time.Sleep(d)
		}
		io.Copy(w, r.Body)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("pid=%d port=%d\n", os.Getpid(), ln.Addr().(*net.TCPAddr).Port)
	srv := &http.Server{Handler: mux}
	shutdown := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		for range sigs {
			fmt.Printf("sigterm inflight=%d\n", inflight.Load())
			if os.Getenv("IGNORE_SIGTERM") != "" {
				fmt.Println("sigterm ignored")
				continue
			}
			srv.Shutdown(context.Background())
			close(shutdown)
			return
		}
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	<-shutdown
	fmt.Println("exiting")
}
