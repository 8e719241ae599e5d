package log_test

import (
	"bufio"
	"bytes"
	"sync"
	"testing"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/sink"
	logsink "github.com/freshetproj/freshet/pkg/sink/log"
	"github.com/freshetproj/freshet/pkg/sink/sinktest"
)

// TestConformance runs the sink suite: the lines written are read back
// with the CloudEvents JSON format.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t testing.TB) *sinktest.System {
		out := &lockedBuffer{}
		return &sinktest.System{
			Open: func(testing.TB) sink.Sink { return logsink.New("log", out) },
			Held: func(t testing.TB) []*cloudevent.Event {
				var held []*cloudevent.Event
				sc := bufio.NewScanner(bytes.NewReader(out.bytes()))
				for sc.Scan() {
					e, err := cloudevent.UnmarshalJSON(sc.Bytes())
					if err != nil {
						t.Fatalf("line %q: %v", sc.Text(), err)
					}
					held = append(held, e)
				}
				return held
			},
		}
	})
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
