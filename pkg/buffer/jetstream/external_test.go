package jetstream

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/buffer/buffertest"
)

// externalServer runs a real NATS server with JetStream on a loopback TCP
// port, standing apart from the stores that connect to it by URL.
func externalServer(t *testing.T) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		NoLog:     true,
		NoSigs:    true,
		JetStream: true,
		StoreDir:  t.TempDir(),
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready after 10s")
	}
	return srv.ClientURL()
}

// TestConformanceExternal runs the suite against stores that connect to an
// external JetStream by URL (as `freshet dev --nats-url` and the Kubernetes
// router do); a restart is a new Store on the same server.
func TestConformanceExternal(t *testing.T) {
	buffertest.Run(t, &externalHarness{harness: harness{configs: map[buffer.Store]Config{}}})
}

type externalHarness struct{ harness }

func (h *externalHarness) Open(t *testing.T, opts buffertest.Options) buffer.Store {
	return h.open(t, Config{URL: externalServer(t), AckWait: opts.AckWait})
}
