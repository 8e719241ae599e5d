package function_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/function"
)

func TestRunFinishesInFlightOnShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	h := func(_ context.Context, e *cloudevent.Event) (*cloudevent.Event, error) {
		close(started)
		<-release
		return e, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- function.Run(ctx, ln, h) }()

	url := "http://" + ln.Addr().String()
	status := make(chan int, 1)
	go func() {
		req, err := cloudevent.NewRequest(context.Background(), url, event("slow"))
		if err != nil {
			status <- -1
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- -2
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-started
	cancel()
	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case err := <-runErr:
			t.Fatalf("Run returned %v before the in-flight request finished", err)
		}
	}
	select {
	case err := <-runErr:
		t.Fatalf("Run returned %v before the in-flight request finished", err)
	default:
	}
	close(release)
	if got := <-status; got != http.StatusOK {
		t.Fatalf("in-flight request status = %d, want 200", got)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
}
