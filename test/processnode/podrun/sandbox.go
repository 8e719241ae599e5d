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
	// start starts cmd in the Pod's network namespace, from a thread that
	// lives as long as the process may (see lockedThread).
	start(cmd *exec.Cmd) error
	// dial connects to port at the Pod's IP in the Pod's own network.
	dial(ctx context.Context, port int) (net.Conn, error)
	// close releases the sandbox; processes must be gone.
	close()
}

var errSandboxClosed = errors.New("pod sandbox closed")

// lockedThread is one goroutine locked to its OS thread, running what it is
// given one request at a time. Two things that matter here belong to a
// thread, not to the process: the network namespace (a process forked on
// the thread, or a socket created on it, is in the thread's namespace) and
// the parent-death signal (Pdeathsig fires when the thread that forked the
// child ends, not when the process does). The goroutine never unlocks its
// thread: when it returns, the Go runtime ends the thread.
type lockedThread struct {
	reqs chan func()
	mu   sync.RWMutex // held for reading by do, for writing by close
	done bool
}

// newLockedThread starts the goroutine and runs setup (if not nil) on its
// thread before anything else.
func newLockedThread(setup func() error) (*lockedThread, error) {
	t := &lockedThread{reqs: make(chan func())}
	ready := make(chan error, 1)
	go t.serve(setup, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return t, nil
}

func (t *lockedThread) serve(setup func() error, ready chan<- error) {
	runtime.LockOSThread() // never unlocked, see lockedThread
	if setup != nil {
		if err := setup(); err != nil {
			ready <- err
			return
		}
	}
	ready <- nil
	for f := range t.reqs {
		f()
	}
}

// do runs f on the thread and waits for it.
func (t *lockedThread) do(f func()) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.done {
		return errSandboxClosed
	}
	finished := make(chan struct{})
	t.reqs <- func() { f(); close(finished) }
	<-finished
	return nil
}

// start starts cmd on the thread.
func (t *lockedThread) start(cmd *exec.Cmd) error {
	var err error
	if derr := t.do(func() { err = cmd.Start() }); derr != nil {
		return derr
	}
	return err
}

// close ends the goroutine and with it the thread.
func (t *lockedThread) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done {
		t.done = true
		close(t.reqs)
	}
}

// hostThread starts the processes of every hostNetwork Pod. It is never
// closed, so its thread lives as long as the node process and their
// Pdeathsig fires only when the node dies. Any other goroutine's thread
// could end earlier: a goroutine that locks the thread it happens to run on
// and returns locked (as a Pod's namespace goroutine does) takes the thread
// with it.
var hostThread = sync.OnceValue(func() *lockedThread {
	t, _ := newLockedThread(nil) // only setup can fail
	return t
})

// hostSandbox is the host's network, for hostNetwork Pods.
type hostSandbox struct{ ip string }

func (h hostSandbox) start(cmd *exec.Cmd) error { return hostThread().start(cmd) }

func (h hostSandbox) dial(ctx context.Context, port int) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", net.JoinHostPort(h.ip, strconv.Itoa(port)))
}

func (hostSandbox) close() {}

// netns is a network namespace of its own, held by a lockedThread that
// unshared it. That thread does the forks and the socket creation for
// everyone, and is the parent (for Pdeathsig) of every process of the Pod;
// it is closed only once they are gone, and the namespace goes away with
// the thread and the last socket in it. The host's namespace is never
// modified.
type netns struct {
	*lockedThread
	ip string // the Pod's IP, local inside the namespace too (see dial)
}

func newNetns(ip string) (*netns, error) {
	t, err := newLockedThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("new network namespace: %w", err)
		}
		if err := loopbackUp(); err != nil {
			return fmt.Errorf("new network namespace: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &netns{lockedThread: t, ip: ip}, nil
}

// loopbackUp brings up "lo" in the current thread's network namespace.
// The kernel then gives it 127.0.0.1/8, and with it a local route for all
// of 127.0.0.0/8: any loopback address, the Pod's IP included, can be bound
// and dialed inside the namespace without configuring it.
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

// dialTimeout bounds a dial on the namespace's thread, which serves one
// request at a time. On loopback a connect completes or is refused at once.
const dialTimeout = 5 * time.Second

// dial connects to the Pod's IP, as a kubelet's probes and a Service's
// traffic do: an application bound to $(POD_IP):port or to all addresses
// answers, one bound to 127.0.0.1 only does not.
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
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(n.ip, strconv.Itoa(port)))
	}); derr != nil {
		return nil, derr
	}
	return conn, err
}
