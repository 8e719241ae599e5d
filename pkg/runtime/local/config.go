package local

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Config configures a Runtime. The zero value of every field selects its default.
type Config struct {
	// Router is told the ready endpoints of each function and drains replicas before they
	// stop. Default: none (endpoints go nowhere and drains do not wait).
	Router Router
	// Log receives the children's stdout and stderr, line by line, each line prefixed
	// "[function-N] " where N numbers the replica (from 1, never reused within a function).
	// The runtime's own notes about a replica (exits, restarts, kills) go here too, after
	// the prefix "local runtime: ". Default: discarded.
	Log io.Writer
	// ProbeInterval is the time between health probes of a replica that is not yet ready.
	// It bounds how much a cold start waits after the process is up; a refused probe
	// costs microseconds. Default: 5ms.
	ProbeInterval time.Duration
	// ReadyProbeInterval is the time between health probes of a ready replica. Three
	// failed probes in a row withdraw it until it answers again. Default: 1s.
	ReadyProbeInterval time.Duration
	// RestartBackoffMin is the wait before the first restart of a crashed replica.
	// Each further crash doubles the wait, up to RestartBackoffMax; a replica that was
	// ready for 10s before it crashed starts again from RestartBackoffMin. Default: 100ms.
	RestartBackoffMin time.Duration
	// RestartBackoffMax caps the wait before restarting a crashed replica. Default: 10s.
	RestartBackoffMax time.Duration
}

func (c Config) withDefaults() Config {
	if c.Router == nil {
		c.Router = noRouter{}
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 5 * time.Millisecond
	}
	if c.ReadyProbeInterval <= 0 {
		c.ReadyProbeInterval = time.Second
	}
	if c.RestartBackoffMin <= 0 {
		c.RestartBackoffMin = 100 * time.Millisecond
	}
	if c.RestartBackoffMax <= 0 {
		c.RestartBackoffMax = 10 * time.Second
	}
	if c.RestartBackoffMax < c.RestartBackoffMin {
		c.RestartBackoffMax = c.RestartBackoffMin
	}
	return c
}

// ProcessSpec says how to run one replica of a function.
type ProcessSpec struct {
	// Command is the program and its first arguments, as a container's command: the
	// program is looked up in PATH unless it contains a slash (then it is relative to
	// Dir). Required.
	Command []string
	// Args are appended to Command, as a container's args. Default: none.
	Args []string
	// Env holds KEY=VALUE entries added to the parent's environment (an entry overrides
	// the parent's value of its key). PORT is always set by the runtime. Default: none.
	Env []string
	// Dir is the working directory of the process. Default: the parent's.
	Dir string
	// HealthPath is the path probed by GET to learn that a replica is ready; it must start
	// with "/". An answer of 2xx, or any 3xx/4xx (the server is up, with no such path),
	// means ready; no answer or 5xx means not yet. Default: "/healthz".
	HealthPath string
	// Grace bounds each of the two waits of a stop: for the Router to drain the replica's
	// in-flight requests, and then for the process to exit after SIGTERM before SIGKILL.
	// Zero means the default. Default: 30s.
	Grace time.Duration
}

func (s ProcessSpec) withDefaults() ProcessSpec {
	s.Command = slices.Clone(s.Command)
	s.Args = slices.Clone(s.Args)
	s.Env = slices.Clone(s.Env)
	if s.HealthPath == "" {
		s.HealthPath = "/healthz"
	}
	if s.Grace <= 0 {
		s.Grace = 30 * time.Second
	}
	return s
}

func (s ProcessSpec) validate() error {
	var errs []error
	if len(s.Command) == 0 || s.Command[0] == "" {
		errs = append(errs, errors.New("command is required"))
	}
	if !strings.HasPrefix(s.HealthPath, "/") {
		errs = append(errs, fmt.Errorf("health path %q must start with /", s.HealthPath))
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("env entry %q is not KEY=VALUE", kv))
		}
	}
	return errors.Join(errs...)
}

// equal reports whether two defaulted specs run the same process.
func (s ProcessSpec) equal(o ProcessSpec) bool {
	return slices.Equal(s.Command, o.Command) && slices.Equal(s.Args, o.Args) &&
		slices.Equal(s.Env, o.Env) && s.Dir == o.Dir && s.HealthPath == o.HealthPath &&
		s.Grace == o.Grace
}
