package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/dataplane"
)

// +kubebuilder:rbac:groups=freshet.dev,resources=vertices/status,verbs=patch

// Backlogs is where the reporter reads each vertex's backlog: the data
// plane.
type Backlogs interface {
	// Pending is the backlog of the vertex at path; false when unknown.
	Pending(ctx context.Context, path string) (int64, bool, error)
}

// BacklogReporter writes each Vertex's status.backlog and backlogTime:
// what the Vertex reconciler reads to tell a drained pause, and what
// `kubectl get vtx` shows — for a source vertex, what waits in its system
// (a Kafka group's lag, an SQS queue's depth).
type BacklogReporter struct {
	// Client reads Vertices (normally from the cache) and patches their
	// status.
	Client   client.Client
	Backlogs Backlogs
	// Interval between reports. Default 1s.
	Interval time.Duration
	Log      *slog.Logger
}

// Refresh is how stale a reported backlog may grow before it is written
// again though unchanged.
const Refresh = 30 * time.Second

// ReportDue reports whether pending should be written as v's backlog now:
// when it changed, when the last report is older than Refresh, and every
// second while v is pausing, so that a report falls after the pause began
// (backlogTime has whole seconds).
func ReportDue(v *v1alpha1.Vertex, pending int64, now time.Time) bool {
	st := &v.Status
	if st.BacklogTime == nil || st.Backlog != pending {
		return true
	}
	age := now.Sub(st.BacklogTime.Time)
	pausing := v.Spec.Lifecycle.DesiredPhase == v1alpha1.PhasePaused && st.Phase != v1alpha1.PhasePaused
	return age >= Refresh || (pausing && age >= time.Second)
}

// Start reports until ctx ends; it is a manager Runnable.
func (r *BacklogReporter) Start(ctx context.Context) error {
	interval := r.Interval
	if interval <= 0 {
		interval = time.Second
	}
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := r.Report(ctx); err != nil {
				log.Warn("reporting vertex backlogs", "error", err)
			}
		}
	}
}

// Report writes the backlog of every Vertex whose report is due.
func (r *BacklogReporter) Report(ctx context.Context) error {
	var list v1alpha1.VertexList
	if err := r.Client.List(ctx, &list); err != nil {
		return fmt.Errorf("list Vertices: %w", err)
	}
	var first error
	for i := range list.Items {
		v := &list.Items[i]
		n, ok, err := r.Backlogs.Pending(ctx, dataplane.VertexPath(v))
		if err == nil && ok && ReportDue(v, n, time.Now()) {
			err = r.patch(ctx, v, n)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// patch merges backlog and backlogTime into v's status, leaving the rest
// of the status (the Vertex reconciler's) alone.
func (r *BacklogReporter) patch(ctx context.Context, v *v1alpha1.Vertex, n int64) error {
	at, err := metav1.Now().MarshalJSON()
	if err != nil {
		return err
	}
	body := fmt.Appendf(nil, `{"status":{"backlog":%d,"backlogTime":%s}}`, n, at)
	obj := &v1alpha1.Vertex{ObjectMeta: metav1.ObjectMeta{Namespace: v.Namespace, Name: v.Name}}
	err = r.Client.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, body))
	if err = client.IgnoreNotFound(err); err != nil { // a deleted Vertex has no backlog to report
		return fmt.Errorf("report backlog of Vertex %s/%s: %w", v.Namespace, v.Name, err)
	}
	return nil
}

// NeedLeaderElection is false: the activator runs no leader election.
func (r *BacklogReporter) NeedLeaderElection() bool { return false }
