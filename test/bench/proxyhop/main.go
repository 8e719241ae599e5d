// Command proxyhop is a reference point for the invoke benchmark: a stdlib
// httputil.ReverseProxy on 127.0.0.1:$PORT that forwards every request to
// $TARGET. It is the cost of one plain HTTP hop, with none of the router's
// work (CloudEvent parsing, validation, replica choice, retries).
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	target, err := url.Parse(os.Getenv("TARGET"))
	if port == "" || err != nil || target.Host == "" {
		log.Fatal("proxyhop: set PORT and TARGET (http://host:port)")
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	proxy.Transport = t
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.Handle("POST /", proxy)
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
