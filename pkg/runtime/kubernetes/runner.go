package kubernetes

import (
	"fmt"
	"sync"

	"github.com/freshetproj/freshet/pkg/dataplane"
)

// Runner is the data plane's Runner in Kubernetes: the controller runs
// every function's Deployment, so Run and Stop only learn which Function
// or Vertex a function key scales, and the scaler's decisions go to that
// object's scale subresource.
type Runner struct {
	Scaler *Scaler

	mu    sync.Mutex
	names map[string]string // function key → Scaler name
}

// Run records which object fn's key scales.
func (r *Runner) Run(fn dataplane.Function) error {
	name := FunctionName(fn.Namespace, fn.Name)
	if fn.Vertex {
		name = VertexName(fn.Namespace, fn.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]string{}
	}
	r.names[fn.Key] = name
	return nil
}

// Stop forgets key; its object's replicas are the controller's to settle.
func (r *Runner) Stop(key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.names, key)
	return nil
}

func (r *Runner) name(key string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name, ok := r.names[key]
	return name, ok
}

// SetReplicas scales the object behind key.
func (r *Runner) SetReplicas(key string, n int) error {
	name, ok := r.name(key)
	if !ok {
		return fmt.Errorf("function %s is not running", key)
	}
	return r.Scaler.SetReplicas(name, n)
}

// Status reads the replicas of the object behind key; zeros when unknown.
func (r *Runner) Status(key string) (desired, ready int) {
	name, ok := r.name(key)
	if !ok {
		return 0, 0
	}
	return r.Scaler.Status(name)
}
