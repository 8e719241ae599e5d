package podrun

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails its first fails accepts as a process out of file
// descriptors would.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// A failing accept (EMFILE) does not end the forwarder: the client waiting
// in the backlog is served once accepting works again.
func TestForwarderSurvivesAcceptErrors(t *testing.T) {
	t.Parallel()
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "hello")
			c.Close()
		}
	}()
	dial := func(ctx context.Context, _ int) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", backend.Addr().String())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	flaky := &flakyListener{Listener: ln}
	flaky.fails.Store(4)
	f := emptyForwarder(dial, slog.New(slog.NewTextHandler(t.Output(), nil)))
	f.add(flaky, 1)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello" {
		t.Fatalf("through the forwarder: %q, %v; want hello", got, err)
	}
	if n := flaky.fails.Load(); n >= 0 {
		t.Errorf("%d accept failures left unused", n+1)
	}

	f.close() // returns only once serve has returned
	// The listener itself, not a dial: once closed, its ephemeral port may
	// be taken by another process at once. The deadline keeps an open
	// listener from blocking the test.
	_ = ln.(*net.TCPListener).SetDeadline(time.Now())
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the forwarder's listener after close: Accept = %v, want net.ErrClosed", err)
	}
}
