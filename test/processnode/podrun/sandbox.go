package podrun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// sandbox is the network a Pod's processes live in.
type sandbox interface {
	// start starts cmd in the Pod's network namespace.
	start(cmd *exec.Cmd) error
	// dial connects to port on the Pod's loopback (its own network).
	dial(ctx context.Context, port int) (net.Conn, error)
	// close releases the sandbox; processes must be gone.
	close()
}

var errSandboxClosed = errors.New("pod sandbox closed")

// hostSandbox is the host's network, for hostNetwork Pods.
type hostSandbox struct{ ip string }

func (h hostSandbox) start(cmd *exec.Cmd) error { return cmd.Start() }

func (h hostSandbox) dial(ctx context.Context, port int) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", net.JoinHostPort(h.ip, strconv.Itoa(port)))
}

func (hostSandbox) close() {}

// netns is a network namespace of its own, held by one goroutine locked to
// an OS thread that unshared it. Namespaces belong to threads: a process
// forked from that thread, and a socket created on it, are in the namespace.
// So that goroutine does the forks and the socket creation for everyone,
// served over reqs. It never unlocks its thread: when the goroutine returns,
// the Go runtime ends the thread, and the namespace goes away with the last
// process and socket in it. The host's namespace is never modified.
type netns struct {
	reqs chan func()
	mu   sync.RWMutex // held for reading by do, for writing by close
	done bool
}

func newNetns() (*netns, error) {
	n := &netns{reqs: make(chan func())}
	ready := make(chan error, 1)
	go n.serve(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return n, nil
}

func (n *netns) serve(ready chan<- error) {
	runtime.LockOSThread() // never unlocked, see netns
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		ready <- fmt.Errorf("new network namespace: %w", err)
		return
	}
	if err := loopbackUp(); err != nil {
		ready <- fmt.Errorf("new network namespace: %w", err)
		return
	}
	ready <- nil
	for f := range n.reqs {
		f()
	}
}

// loopbackUp brings up "lo" in the current thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	return nil
}

// do runs f on the namespace's thread and waits for it.
func (n *netns) do(f func()) error {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.done {
		return errSandboxClosed
	}
	finished := make(chan struct{})
	n.reqs <- func() { f(); close(finished) }
	<-finished
	return nil
}

func (n *netns) start(cmd *exec.Cmd) error {
	var err error
	if derr := n.do(func() { err = cmd.Start() }); derr != nil {
		return derr
	}
	return err
}

// dialTimeout bounds a dial on the namespace's thread, which serves one
// request at a time. On loopback a connect completes or is refused at once.
const dialTimeout = 5 * time.Second

func (n *netns) dial(ctx context.Context, port int) (net.Conn, error) {
	var (
		conn net.Conn
		err  error
	)
	if derr := n.do(func() {
		// The socket is created synchronously on this thread, so it is in
		// the namespace; the connection may be used from any goroutine.
		ctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}); derr != nil {
		return nil, derr
	}
	return conn, err
}

func (n *netns) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.done {
		n.done = true
		close(n.reqs)
	}
}
