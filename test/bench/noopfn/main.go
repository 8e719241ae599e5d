// Command noopfn is the benchmarks' and end-to-end tests' function: a
// pass-through written with pkg/function. It replies with the event it
// received, unchanged, so the send timestamp the benchmark carries in an
// extension reaches the sink. With DELAY set (a Go duration such as
// "100ms") it holds each event that long first, like a slow model.
package main

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/function"
)

func main() {
	var delay time.Duration
	if v := os.Getenv("DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			log.Fatalf("DELAY: %v", err)
		}
		delay = d
	}
	handler := func(ctx context.Context, e *cloudevent.Event) (*cloudevent.Event, error) {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return e, nil
	}
	if err := function.Serve(handler); err != nil {
		log.Fatal(err)
	}
}
