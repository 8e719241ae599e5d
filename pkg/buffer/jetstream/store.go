// Package jetstream implements buffer.Store on NATS JetStream, either on an
// external server or cluster or on a server embedded in this process.
//
// Each buffer is one work-queue stream with one durable pull consumer with
// explicit acks. Acked messages are deleted from the stream, so Pending is the
// stream's message count.
package jetstream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// Store is a buffer.Store on NATS JetStream. It is safe for concurrent use.
type Store struct {
	cfg    Config
	server *server.Server // nil when connected to an external URL
	nc     *nats.Conn
	js     js.JetStream
	// publishSlots bounds asynchronous publishes in flight across Writes.
	publishSlots chan struct{}

	mu      sync.Mutex
	closed  bool
	buffers map[*Buffer]struct{}
}

var _ buffer.Store = (*Store)(nil)

// Open connects to cfg.URL, or starts an embedded server storing under
// cfg.DataDir when cfg.URL is empty, and returns a Store. ctx bounds the
// start-up only.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:          cfg,
		publishSlots: make(chan struct{}, publishWindow),
		buffers:      map[*Buffer]struct{}{},
	}
	opts := []nats.Option{nats.Name("freshet-buffer"), nats.MaxReconnects(-1)}
	url := cfg.URL
	if url == "" {
		if s.server, err = startEmbedded(ctx, cfg); err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(s.server))
	}
	if s.nc, err = nats.Connect(url, opts...); err != nil {
		s.shutdownServer()
		return nil, fmt.Errorf("jetstream buffer: connect: %w", err)
	}
	s.js, err = js.New(s.nc,
		js.WithPublishAsyncMaxPending(2*publishWindow),
		js.WithPublishAsyncTimeout(cfg.AckWait))
	if err != nil {
		s.nc.Close()
		s.shutdownServer()
		return nil, fmt.Errorf("jetstream buffer: %w", err)
	}
	return s, nil
}

// startEmbedded runs a JetStream server in this process, listening on a
// random loopback port only, with its file store under cfg.DataDir.
func startEmbedded(ctx context.Context, cfg Config) (*server.Server, error) {
	srv, err := server.NewServer(&server.Options{
		ServerName: "freshet-buffer",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		MaxPayload: EmbeddedMaxPayload,
		StoreDir:   cfg.DataDir,
		SyncAlways: cfg.SyncAlways,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream buffer: embedded server: %w", err)
	}
	srv.Start()
	wait := 10 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		wait = time.Until(deadline)
	}
	if !srv.ReadyForConnections(wait) || !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("jetstream buffer: embedded server in %s not ready after %s", cfg.DataDir, wait)
	}
	return srv, nil
}

// MaxMessageBytes is the largest message the connected server takes.
func (s *Store) MaxMessageBytes() int64 { return s.nc.MaxPayload() }

// ClientURL is the loopback address of the embedded server, for debugging
// with tools such as the nats CLI; empty when connected to an external URL.
func (s *Store) ClientURL() string {
	if s.server == nil {
		return ""
	}
	return s.server.ClientURL()
}

// Open returns the buffer called name, creating its stream and consumer if
// needed. Existing streams keep their messages; their settings are updated
// to the Store's Config.
func (s *Store) Open(ctx context.Context, name string) (buffer.Buffer, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, buffer.ErrClosed
	}
	b, err := openBuffer(ctx, s, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		b.closeReader()
		return nil, buffer.ErrClosed
	}
	s.buffers[b] = struct{}{}
	return b, nil
}

// forget drops a closed buffer from the Store's set.
func (s *Store) forget(b *Buffer) {
	s.mu.Lock()
	delete(s.buffers, b)
	s.mu.Unlock()
}

// Close closes every open buffer (Reads in flight hand back what they
// fetched), drains
// the connection so that pending acks reach the server, and shuts the
// embedded server down. Stored messages stay. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return buffer.ErrClosed
	}
	s.closed = true
	open := make([]*Buffer, 0, len(s.buffers))
	for b := range s.buffers {
		open = append(open, b)
	}
	s.mu.Unlock()

	for _, b := range open {
		_ = b.Close()
	}
	err := s.drain()
	s.shutdownServer()
	return err
}

// drain flushes the connection's outgoing acks and closes it.
func (s *Store) drain() error {
	done := make(chan struct{})
	s.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := s.nc.Drain(); err != nil {
		s.nc.Close()
		return fmt.Errorf("jetstream buffer: drain: %w", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.nc.Close()
		return fmt.Errorf("jetstream buffer: drain: timed out")
	}
	return nil
}

func (s *Store) shutdownServer() {
	if s.server != nil {
		s.server.Shutdown()
		s.server.WaitForShutdown()
	}
}
