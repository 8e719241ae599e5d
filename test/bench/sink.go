package main

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// sink is the HTTP server at the end of the pipeline, served by the
// benchmark itself. It records each event id once and, for events sent
// inside the current latency window, the time from send (the benchsent
// extension) to arrival. It also frees a slot of the in-flight window.
type sink struct {
	srv *http.Server
	url string

	mu       sync.Mutex
	seen     map[string]struct{}
	dups     int
	arrived  int // distinct events
	latFrom  time.Time
	latTo    time.Time
	lat      []time.Duration
	countTo  time.Time // arrivals counted in [countFrom, countTo)
	countFrm time.Time
	counted  int
	slots    chan struct{} // in-flight window; nil when unbounded
}

func newSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{seen: map[string]struct{}{}, url: "http://" + ln.Addr().String() + "/sink"}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	now := time.Now()
	id := r.Header.Get("Ce-Id")
	sentNs, err := strconv.ParseInt(r.Header.Get("Ce-Benchsent"), 10, 64)
	if id == "" || err != nil {
		http.Error(w, "want ce-id and ce-benchsent", http.StatusBadRequest)
		return
	}
	sent := time.Unix(0, sentNs)
	s.mu.Lock()
	if _, dup := s.seen[id]; dup {
		s.dups++
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.seen[id] = struct{}{}
	s.arrived++
	if !now.Before(s.countFrm) && now.Before(s.countTo) {
		s.counted++
	}
	if !sent.Before(s.latFrom) && sent.Before(s.latTo) {
		s.lat = append(s.lat, now.Sub(sent))
	}
	slots := s.slots
	s.mu.Unlock()
	if slots != nil {
		select {
		case <-slots:
		default:
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// phase starts a measurement: arrivals in [countFrom, countTo) are
// counted, latencies of events sent in [latFrom, latTo) are kept, and
// slots (may be nil) is the in-flight window the sink frees.
func (s *sink) phase(countFrom, countTo, latFrom, latTo time.Time, slots chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countFrm, s.countTo, s.latFrom, s.latTo = countFrom, countTo, latFrom, latTo
	s.counted = 0
	s.lat = nil
	s.slots = slots
}

// result returns the phase's arrivals counted and its latency samples.
func (s *sink) result() (int, []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counted, append([]time.Duration(nil), s.lat...)
}

func (s *sink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arrived
}

func (s *sink) duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dups
}

// waitFor waits until n distinct events have arrived, or timeout.
func (s *sink) waitFor(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for s.distinct() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	return true
}

func (s *sink) close() { _ = s.srv.Close() }
