// Command echoserver is the program the process node's tests run as a
// pod's container: an HTTP server on :$PORT (default 8080) that answers
// GET /healthz with 200 and every other path with who it is, from the
// environment the node gave it. It exits 0 on SIGTERM, unless
// IGNORE_SIGTERM=1: then only SIGKILL ends it.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "name=%s ip=%s hostname=%s pid=%d\n", os.Getenv("POD_NAME"), os.Getenv("POD_IP"), os.Getenv("HOSTNAME"), os.Getpid())
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	if os.Getenv("IGNORE_SIGTERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
		sigs = sigs[:1] // Notify would undo the Ignore
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
