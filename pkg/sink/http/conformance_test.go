package http_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/sink"
	httpsink "github.com/freshetproj/freshet/pkg/sink/http"
	"github.com/freshetproj/freshet/pkg/sink/sinktest"
)

// TestConformance runs the sink suite against a real HTTP endpoint that
// reads each request with the CloudEvents HTTP binding.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t testing.TB) *sinktest.System {
		var mu sync.Mutex
		var held []*cloudevent.Event
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			events, err := cloudevent.ReadRequest(r, 1<<20)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			held = append(held, events...)
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		}))
		t.Cleanup(srv.Close)
		return &sinktest.System{
			Open: func(testing.TB) sink.Sink {
				return &httpsink.Sink{URL: srv.URL, Sender: delivery.NewSender(), Timeout: 5 * time.Second}
			},
			Held: func(testing.TB) []*cloudevent.Event {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(held)
			},
		}
	})
}
