package local

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// function is the state of one function. Fields are guarded by Runtime.mu unless noted.
type function struct {
	name     string
	spec     ProcessSpec // current spec, defaulted
	gen      int         // bumped when spec changes
	desired  int
	lastID   int        // ID of the newest replica ever started
	replicas []*replica // every replica whose goroutine runs, oldest first

	pubMu     sync.Mutex // serialises publish; guards the fields below, not Runtime.mu
	published []string
	pubOnce   bool
}

// readyLocked counts the ready replicas of the current spec that are not stopping.
func (f *function) readyLocked() int {
	n := 0
	for _, rep := range f.replicas {
		if !rep.stopping && rep.gen == f.gen && rep.url != "" {
			n++
		}
	}
	return n
}

// endpointsLocked returns the base URLs of the replicas that take events: ready and not
// stopping, of any spec, oldest first.
func (f *function) endpointsLocked() []string {
	var urls []string
	for _, rep := range f.replicas {
		if !rep.stopping && rep.url != "" {
			urls = append(urls, rep.url)
		}
	}
	return urls
}

// reconcileLocked starts and stops replicas of f as plan decides, and wakes waiters.
// Stopped replicas withdraw themselves from the Router.
func (r *Runtime) reconcileLocked(f *function) {
	views := make([]replicaView, 0, len(f.replicas))
	for _, rep := range f.replicas {
		if !rep.stopping {
			views = append(views, replicaView{ID: rep.id, Current: rep.gen == f.gen, Ready: rep.url != ""})
		}
	}
	start, stop := plan(views, f.desired)
	for _, rep := range f.replicas {
		if slices.Contains(stop, rep.id) {
			rep.stopping = true
			rep.cancel()
		}
	}
	for range start {
		r.startReplicaLocked(f)
	}
	r.notifyLocked()
}

// startReplicaLocked adds a replica of f's current spec and starts its goroutine.
func (r *Runtime) startReplicaLocked(f *function) {
	f.lastID++
	ctx, cancel := context.WithCancel(context.Background())
	rep := &replica{
		rt:     r,
		f:      f,
		id:     f.lastID,
		gen:    f.gen,
		spec:   f.spec,
		prefix: fmt.Sprintf("[%s-%d] ", f.name, f.lastID),
		ctx:    ctx,
		cancel: cancel,
	}
	f.replicas = append(f.replicas, rep)
	r.wg.Add(1)
	go rep.run()
}

// removeReplica forgets a replica whose goroutine is ending.
func (r *Runtime) removeReplica(rep *replica) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := rep.f
	f.replicas = slices.DeleteFunc(f.replicas, func(x *replica) bool { return x == rep })
	r.reconcileLocked(f)
}

// publish tells the Router the current endpoints of f, unless it already knows them.
// Calls are serialised per function and each reads the state afresh, so the last call
// always carries the latest endpoints.
func (r *Runtime) publish(f *function) {
	f.pubMu.Lock()
	defer f.pubMu.Unlock()
	r.mu.Lock()
	urls := f.endpointsLocked()
	r.mu.Unlock()
	if f.pubOnce && slices.Equal(urls, f.published) {
		return
	}
	f.published, f.pubOnce = urls, true
	r.cfg.Router.SetEndpoints(f.name, slices.Clone(urls))
}
