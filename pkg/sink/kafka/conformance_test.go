package kafka

import (
	"context"
	"testing"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/sink/sinktest"
)

// TestConformanceFake runs the sink suite against kfake in both modes.
func TestConformanceFake(t *testing.T) {
	c := fakeCluster(t)
	for _, mode := range []string{"binary", "structured"} {
		t.Run(mode, func(t *testing.T) {
			sinktest.Run(t, func(t testing.TB) *sinktest.System { return c.system(t, mode) })
		})
	}
}

// TestFailuresFake: a record larger than a produce request can carry is
// a permanent failure (rule 3); a write whose context ended may pass on
// another attempt, and does.
func TestFailuresFake(t *testing.T) { testFailures(t, fakeCluster(t)) }

func testFailures(t *testing.T, c *cluster) {
	s := c.open(t, c.topic(t, nil), "binary")
	huge := &cloudevent.Event{SpecVersion: "1.0", ID: "huge", Source: "/s", Type: "t", Data: make([]byte, 2<<20)}
	sinktest.WantFailure(t, s.Write(context.Background(), []*cloudevent.Event{huge}), false, "MESSAGE_TOO_LARGE")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	small := &cloudevent.Event{SpecVersion: "1.0", ID: "small", Source: "/s", Type: "t", Data: []byte("x")}
	sinktest.WantFailure(t, s.Write(ctx, []*cloudevent.Event{small}), true, "")
	if err := s.Write(context.Background(), []*cloudevent.Event{small}); err != nil {
		t.Errorf("a write after failures: %v", err)
	}
}
