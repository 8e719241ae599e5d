// Command noopfn is the benchmark's function: a pass-through written with
// pkg/function. It replies with the event it received, unchanged, so the
// send timestamp the benchmark carries in an extension reaches the sink.
package main

import (
	"context"
	"log"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/function"
)

func passThrough(_ context.Context, e *cloudevent.Event) (*cloudevent.Event, error) {
	return e, nil
}

func main() {
	if err := function.Serve(passThrough); err != nil {
		log.Fatal(err)
	}
}
