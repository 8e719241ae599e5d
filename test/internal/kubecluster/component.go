package kubecluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/freshetproj/freshet/test/internal/child"
)

// Component names, as in log file names and errors.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
)

// component is one running control-plane process, logging to its own file.
type component struct {
	name    string
	logPath string
	proc    *child.Process
}

// startComponent starts binary with args, appending its output to logPath.
func startComponent(name, binary, logPath string, args []string) (*component, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kubecluster: %s log: %w", name, err)
	}
	defer logFile.Close() // the child has its own descriptor
	fmt.Fprintf(logFile, "=== freshet: %s %s ===\n", binary, strings.Join(args, " "))
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := child.StartProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("kubecluster: starting %s: %w", binary, err)
	}
	return &component{name: name, logPath: logPath, proc: proc}, nil
}

// stop sends SIGTERM to the process group, and SIGKILL after grace.
func (c *component) stop(grace time.Duration) { c.proc.Stop(grace) }

// exited returns an error describing the exit if the process has exited.
func (c *component) exited() error {
	if exited, err := c.proc.Exited(); exited {
		return fmt.Errorf("%s (pid %d) exited: %v", c.name, c.proc.Pid(), err)
	}
	return nil
}

// failure wraps err with the end of the component's log, where the reason
// usually is.
func (c *component) failure(err error) error {
	return fmt.Errorf("kubecluster: %s: %w\n--- last lines of %s ---\n%s",
		c.name, err, c.logPath, child.TailFile(c.logPath, 6<<10))
}

// portTaken reports whether the component exited because a port chosen for
// it was bound by someone else in the meantime.
func (c *component) portTaken() bool {
	return c.exited() != nil && strings.Contains(child.TailFile(c.logPath, 16<<10), "address already in use")
}

// waitHealthy polls url until it answers 200 "ok", the process exits, or
// ctx ends. header, if not nil, is added to each request.
func (c *component) waitHealthy(ctx context.Context, hc *http.Client, url string, header http.Header) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("no answer yet")
	for {
		err := probe(ctx, hc, url, header)
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-c.proc.Done():
			return c.exited()
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy: %w (last: %v)", url, context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

func probe(ctx context.Context, hc *http.Client, url string, header http.Header) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
