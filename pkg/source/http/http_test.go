package http_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/source"
	httpsource "github.com/freshetproj/freshet/pkg/source/http"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
)

// TestConformance runs the source suite over real HTTP: the router's
// ingress serves the source, and clients POST each event until it is
// answered 202, as the HTTP source asks its clients to.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t testing.TB) *sourcetest.System {
		in := &router.Ingress{}
		srv := httptest.NewServer(in.Handler())
		ctx, cancel := context.WithCancel(context.Background())
		var senders sync.WaitGroup
		t.Cleanup(func() {
			cancel()
			senders.Wait()
			srv.Close()
		})
		const key = "ns/p/in"
		return &sourcetest.System{
			Open: func(testing.TB) source.Source {
				src := httpsource.New()
				in.SetTable(router.Table{Sources: map[string]*httpsource.Source{key: src}})
				return src
			},
			Send: func(t testing.TB, events []*cloudevent.Event) {
				for _, e := range events {
					senders.Go(func() { sendUntilAccepted(ctx, t, srv.URL+"/pipelines/"+key, e) })
				}
			},
			Redelivery: 10 * time.Second,
		}
	})
}

// sendUntilAccepted POSTs e in binary mode until it is answered 202 or ctx
// ends, as a client of the HTTP source does.
func sendUntilAccepted(ctx context.Context, t testing.TB, url string, e *cloudevent.Event) {
	for ctx.Err() == nil {
		req, err := cloudevent.NewRequest(ctx, url, e)
		if err != nil {
			t.Errorf("request for %s: %v", e.ID, err)
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond): // the client's retry interval
		}
	}
}
