package dev

import (
	"fmt"
	"reflect"
	"time"

	"github.com/freshetproj/freshet/pkg/dataplane"
	"github.com/freshetproj/freshet/pkg/runtime/local"
)

// runner runs functions as local processes, for the data plane.
type runner struct {
	*local.Runtime
	grace time.Duration
	specs map[string]local.ProcessSpec
}

// Run defines fn's processes and, when fn is new, starts its minimum of
// replicas; the scaler does the rest.
func (r *runner) Run(fn dataplane.Function) error {
	ps, err := processSpec(fn.Key, fn.Spec.Container, r.grace)
	if err != nil {
		return err
	}
	old, known := r.specs[fn.Key]
	if known && reflect.DeepEqual(old, ps) {
		return nil
	}
	if err := r.Apply(fn.Key, ps); err != nil {
		return fmt.Errorf("function %s: %w", fn.Key, err)
	}
	r.specs[fn.Key] = ps
	if known {
		return nil
	}
	if err := r.SetReplicas(fn.Key, int(*fn.Spec.Scale.Min)); err != nil {
		return fmt.Errorf("function %s: %w", fn.Key, err)
	}
	return nil
}

// Stop stops fn's processes.
func (r *runner) Stop(key string) error {
	delete(r.specs, key)
	return r.SetReplicas(key, 0)
}
