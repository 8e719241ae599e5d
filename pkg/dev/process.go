package dev

import (
	"fmt"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/runtime/local"
)

// processSpec turns a function's container into a local process. The image
// is not used: freshet dev runs the command.
func processSpec(name string, c v1alpha1.Container, grace time.Duration) (local.ProcessSpec, error) {
	if len(c.Command) == 0 {
		return local.ProcessSpec{}, fmt.Errorf("function %s: freshet dev runs container.command as a local process, and it is empty (image %q is not run locally)", name, c.Image)
	}
	env := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			return local.ProcessSpec{}, fmt.Errorf("function %s: env %s: valueFrom is not supported by freshet dev", name, e.Name)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	return local.ProcessSpec{
		Command:    c.Command,
		Args:       c.Args,
		Env:        env,
		Dir:        c.WorkingDir,
		HealthPath: c.HealthPath,
		Grace:      grace,
	}, nil
}
