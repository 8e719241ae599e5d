package node

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseIPRange(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "127.0.2.1-127.0.254.254", want: "127.0.2.1-127.0.254.254"},
		{in: " 127.0.202.1 - 127.0.202.9 ", want: "127.0.202.1-127.0.202.9"},
		{in: "127.0.202.9", err: "want FIRST-LAST"},
		{in: "127.0.202.9-127.0.202.1", err: "before the first"},
		{in: "10.0.0.1-10.0.0.9", err: "not an IPv4 loopback"},
		{in: "::1-::1", err: "not an IPv4 loopback"},
		{in: "127.0.0.x-127.0.0.9", err: "ParseAddr"},
	} {
		r, err := ParseIPRange(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseIPRange(%q) = %v, %v; want error containing %q", tc.in, r, err, tc.err)
			}
			continue
		}
		if err != nil || r.String() != tc.want {
			t.Errorf("ParseIPRange(%q) = %v, %v; want %s", tc.in, r, err, tc.want)
		}
	}
}

// 127.0.1.1 is the machine's hostname in /etc/hosts on Debian and Ubuntu.
func TestDefaultPodIPsLeaveOutTheHostnameAddress(t *testing.T) {
	if err := DefaultPodIPs.Validate(); err != nil {
		t.Fatal(err)
	}
	if DefaultPodIPs.usable(netip.MustParseAddr("127.0.1.1")) {
		t.Errorf("%s includes 127.0.1.1", DefaultPodIPs)
	}
	if !DefaultPodIPs.usable(netip.MustParseAddr("127.0.2.1")) {
		t.Errorf("%s does not start at 127.0.2.1", DefaultPodIPs)
	}
}

func mustRange(t *testing.T, s string) IPRange {
	t.Helper()
	r, err := ParseIPRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func allocate(t *testing.T, p *ipPool) string {
	t.Helper()
	a, err := p.allocate()
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

func TestIPPoolSkipsNetworkBroadcastAndReserved(t *testing.T) {
	p := newIPPool(mustRange(t, "127.0.1.254-127.0.2.2"), netip.MustParseAddr("127.0.2.1"))
	var got []string
	for range 2 {
		got = append(got, allocate(t, p))
	}
	// .255 and .0 are skipped, and so is the reserved 127.0.2.1.
	if want := "127.0.1.254 127.0.2.2"; strings.Join(got, " ") != want {
		t.Errorf("allocated %v, want %s", got, want)
	}
	if a, err := p.allocate(); err == nil {
		t.Errorf("allocated %v from a used-up range, want an error", a)
	}
}

func TestIPPoolGoesRoundBeforeReusing(t *testing.T) {
	p := newIPPool(mustRange(t, "127.0.202.1-127.0.202.3"), netip.Addr{})
	first := allocate(t, p)
	p.release(netip.MustParseAddr(first))
	// The released address comes back only after the others.
	if got := []string{allocate(t, p), allocate(t, p), allocate(t, p)}; strings.Join(got, " ") != "127.0.202.2 127.0.202.3 127.0.202.1" {
		t.Errorf("allocated %v, want 127.0.202.2 127.0.202.3 127.0.202.1", got)
	}
	p.release(netip.MustParseAddr("127.0.202.3"))
	p.release(netip.MustParseAddr("127.0.202.3")) // twice is harmless
	if got := allocate(t, p); got != "127.0.202.3" {
		t.Errorf("allocated %s, want the only free 127.0.202.3", got)
	}
	if a, err := p.allocate(); err == nil {
		t.Errorf("allocated %v from a used-up range, want an error", a)
	}
}

func TestIPPoolSingleAddress(t *testing.T) {
	p := newIPPool(mustRange(t, "127.0.202.7-127.0.202.7"), netip.Addr{})
	if got := allocate(t, p); got != "127.0.202.7" {
		t.Errorf("allocated %s", got)
	}
	if _, err := p.allocate(); err == nil {
		t.Error("second allocation from a one-address range succeeded")
	}
}
