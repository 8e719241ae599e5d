package node

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// IPRange is an inclusive range of IPv4 loopback addresses from which pods
// get their IPs. Loopback, because on Linux the whole of 127.0.0.0/8 is
// local without configuring an interface, so each pod can have an address
// of its own on a laptop with no privileges beyond the pod's namespaces.
type IPRange struct {
	First, Last netip.Addr
}

// DefaultPodIPs is the range pods get their IPs from unless configured. It
// leaves out 127.0.1.0/24: Debian and Ubuntu put the machine's hostname at
// 127.0.1.1 in /etc/hosts.
var DefaultPodIPs = IPRange{
	First: netip.AddrFrom4([4]byte{127, 0, 2, 1}),
	Last:  netip.AddrFrom4([4]byte{127, 0, 254, 254}),
}

// ParseIPRange parses "127.0.2.1-127.0.254.254". Both ends must be IPv4
// loopback addresses, first <= last.
func ParseIPRange(s string) (IPRange, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return IPRange{}, fmt.Errorf("IP range %q: want FIRST-LAST, e.g. 127.0.2.1-127.0.254.254", s)
	}
	first, err := netip.ParseAddr(strings.TrimSpace(lo))
	if err != nil {
		return IPRange{}, fmt.Errorf("IP range %q: %w", s, err)
	}
	last, err := netip.ParseAddr(strings.TrimSpace(hi))
	if err != nil {
		return IPRange{}, fmt.Errorf("IP range %q: %w", s, err)
	}
	r := IPRange{First: first, Last: last}
	return r, r.Validate()
}

// Validate reports why r cannot be used, if it cannot.
func (r IPRange) Validate() error {
	for _, a := range []netip.Addr{r.First, r.Last} {
		if !a.Is4() || !a.IsLoopback() {
			return fmt.Errorf("IP range %s: %v is not an IPv4 loopback address (127.0.0.0/8)", r, a)
		}
	}
	if r.Last.Less(r.First) {
		return fmt.Errorf("IP range %s: last address is before the first", r)
	}
	return nil
}

func (r IPRange) String() string { return r.First.String() + "-" + r.Last.String() }

// usable reports whether a may be given to a pod: it is in the range and
// its last byte is neither 0 nor 255, which read as network and broadcast
// addresses to people and to some software.
func (r IPRange) usable(a netip.Addr) bool {
	b := a.As4()[3]
	return b != 0 && b != 255 && !a.Less(r.First) && !r.Last.Less(a)
}

// ipPool hands out distinct addresses of a range. It goes round the range
// rather than reusing the lowest free address, so an address released by a
// deleted pod is not given to the next pod at once while clients may still
// point at it. (There are no EndpointSlices for them to go stale in: the API
// server refuses loopback addresses there.)
type ipPool struct {
	r        IPRange
	reserved netip.Addr // never handed out (the node's own IP)

	mu   sync.Mutex
	next netip.Addr
	used map[netip.Addr]bool
}

func newIPPool(r IPRange, reserved netip.Addr) *ipPool {
	return &ipPool{r: r, reserved: reserved, next: r.First, used: map[netip.Addr]bool{}}
}

// allocate returns a free address, or an error when the range is used up.
func (p *ipPool) allocate() (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.next
	// One lap of the range at most; usable skips .0 and .255.
	for range 1 << 24 {
		if p.r.usable(a) && a != p.reserved && !p.used[a] {
			p.used[a] = true
			p.next = p.step(a)
			return a, nil
		}
		a = p.step(a)
		if a == p.next {
			break
		}
	}
	return netip.Addr{}, fmt.Errorf("no free pod IP left in %s (%d in use)", p.r, len(p.used))
}

// step is the address after a, wrapping from the end of the range to its start.
func (p *ipPool) step(a netip.Addr) netip.Addr {
	if a == p.r.Last {
		return p.r.First
	}
	return a.Next()
}

// release makes a free again. Releasing a free address does nothing.
func (p *ipPool) release(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.used, a)
}
