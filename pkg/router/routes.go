package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"golang.org/x/sync/errgroup"
)

// Route is one outgoing edge: events that match Filter are written to the
// buffer of the vertex To.
type Route struct {
	To     string
	Filter *v1alpha1.Filter
	Out    buffer.Buffer
}

// Matches reports whether e passes the filter: every exact attribute equals
// its value and every prefix attribute starts with its prefix. A nil or
// empty filter matches everything.
func Matches(f *v1alpha1.Filter, e *cloudevent.Event) bool {
	if f == nil {
		return true
	}
	for name, want := range f.Exact {
		if got, ok := e.Get(name); !ok || got != want {
			return false
		}
	}
	for name, prefix := range f.Prefix {
		if got, ok := e.Get(name); !ok || !strings.HasPrefix(got, prefix) {
			return false
		}
	}
	return true
}

// EventID is the dedup id of an event entering Freshet: a hash of its
// source and id, which the spec says identify it.
func EventID(e *cloudevent.Event) string {
	return hashID(e.Source, e.ID)
}

// OutputID is the dedup id of the i-th event a vertex produced from the
// inputs with the given ids. It depends only on its inputs, so when a crash
// makes Freshet process the same inputs again, the buffer drops the repeated
// outputs even if the function gave them new ids.
func OutputID(vertex string, inputIDs []string, i int) string {
	parts := append([]string{vertex, strconv.Itoa(i)}, inputIDs...)
	return hashID(parts...)
}

func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// writeRoutes writes every event to the buffer of each route whose filter
// matches it, ids[i] being the dedup id of events[i]. It returns after every
// write is durable; events matching no route are dropped (filtered out).
func writeRoutes(ctx context.Context, routes []Route, events []*cloudevent.Event, ids []string) error {
	if len(routes) == 0 || len(events) == 0 {
		return nil
	}
	batches := make([][]buffer.Message, len(routes))
	written := 0
	for i, e := range events {
		var rec []byte
		for r := range routes {
			if !Matches(routes[r].Filter, e) {
				continue
			}
			if rec == nil {
				rec = cloudevent.MarshalRecord(e)
			}
			batches[r] = append(batches[r], buffer.Message{ID: ids[i], Data: rec})
			written++
		}
	}
	if written == 0 {
		return nil
	}
	if len(routes) == 1 {
		if err := routes[0].Out.Write(ctx, batches[0]); err != nil {
			return fmt.Errorf("write to %s: %w", routes[0].To, err)
		}
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	for r, msgs := range batches {
		if len(msgs) == 0 {
			continue
		}
		g.Go(func() error {
			if err := routes[r].Out.Write(ctx, msgs); err != nil {
				return fmt.Errorf("write to %s: %w", routes[r].To, err)
			}
			return nil
		})
	}
	return g.Wait()
}
