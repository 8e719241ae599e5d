package function

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ShutdownTimeout bounds how long a stopping server waits for in-flight
// requests.
const ShutdownTimeout = 30 * time.Second

// Serve serves h on ":"+$PORT (8080 if PORT is unset) until SIGTERM or
// SIGINT, then stops accepting connections and waits for in-flight requests
// to finish. It returns nil after a graceful shutdown.
func Serve(h Handler) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return fmt.Errorf("function: %w", err)
	}
	return Run(ctx, ln, h)
}

// Run serves h on ln until ctx is done, then shuts down gracefully: it stops
// accepting, waits up to ShutdownTimeout for in-flight requests, and returns
// nil if they all finished.
func Run(ctx context.Context, ln net.Listener, h Handler) error {
	srv := &http.Server{
		Handler:           Handle(h),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("function: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("function: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("function: %w", err)
	}
	return nil
}
