package podrun

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"
)

// forwarder makes a Pod with its own network namespace reachable from the
// host: it listens on podIP:port in the host's namespace and copies each
// connection to podIP:port inside the Pod's.
type forwarder struct {
	dial func(ctx context.Context, port int) (net.Conn, error)
	log  *slog.Logger

	ctx    context.Context // ends on close, aborting dials
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]struct{}
	closed bool
}

// The pause after a failed accept doubles from minAcceptDelay up to
// maxAcceptDelay while accepting keeps failing.
const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = time.Second
)

func newForwarder(ip string, ports []int, dial func(context.Context, int) (net.Conn, error), log *slog.Logger) (*forwarder, error) {
	f := emptyForwarder(dial, log)
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			f.close()
			return nil, err
		}
		f.add(ln, port)
	}
	return f, nil
}

// emptyForwarder is a forwarder that listens nowhere yet.
func emptyForwarder(dial func(context.Context, int) (net.Conn, error), log *slog.Logger) *forwarder {
	f := &forwarder{dial: dial, log: log, conns: map[net.Conn]struct{}{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

// add serves ln, forwarding its connections to port.
func (f *forwarder) add(ln net.Listener, port int) {
	f.lns = append(f.lns, ln)
	f.wg.Add(1)
	go f.serve(ln, port)
}

func (f *forwarder) serve(ln net.Listener, port int) {
	defer f.wg.Done()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// E.g. EMFILE. The listener is still open and clients wait in
			// its backlog: try again after a pause (as net/http's Server
			// does) rather than leave them hanging.
			delay = min(max(2*delay, minAcceptDelay), maxAcceptDelay)
			f.log.Warn("forwarder accept", "addr", ln.Addr(), "err", err, "retryIn", delay)
			if !sleep(f.ctx, delay) {
				return
			}
			continue
		}
		delay = 0
		if !f.track(c) {
			c.Close()
			return
		}
		f.wg.Add(1)
		go f.handle(c, port)
	}
}

// track registers c so close can end it; false once closed.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *forwarder) handle(down net.Conn, port int) {
	defer f.wg.Done()
	defer f.untrack(down)
	up, err := f.dial(f.ctx, port)
	if err != nil {
		return // the client sees the connection closed, as if nothing listened
	}
	if !f.track(up) {
		up.Close()
		return
	}
	defer f.untrack(up)
	var copies sync.WaitGroup
	copies.Add(2)
	go pipe(&copies, up, down)
	go pipe(&copies, down, up)
	copies.Wait()
}

// pipe copies src to dst, then passes the end of src on to dst.
func pipe(wg *sync.WaitGroup, dst, src net.Conn) {
	defer wg.Done()
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		cw.CloseWrite()
		return
	}
	// An error (e.g. a reset) on one side ends both directions.
	dst.Close()
	src.Close()
}

// close stops listening, ends every open connection and waits.
func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	for _, ln := range f.lns {
		ln.Close()
	}
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.cancel()
	f.wg.Wait()
}
