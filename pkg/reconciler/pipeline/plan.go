package pipeline

import (
	"maps"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// vertexPlan is what brings a Pipeline's Vertices to the ones it wants.
type vertexPlan struct {
	// changes has one entry per wanted Vertex that the Pipeline controls or
	// that does not exist yet, in pipeline order.
	changes []vertexChange
	// remove are Vertices the Pipeline controls but no longer wants.
	remove []*v1alpha1.Vertex
	// notOwned names wanted Vertices that exist under another controller;
	// they are left alone.
	notOwned []string
}

// vertexChange turns current into want: create want when current is nil,
// else patch current into want unless they are equal.
type vertexChange struct {
	current, want *v1alpha1.Vertex
}

func (c vertexChange) create() bool { return c.current == nil }

func (c vertexChange) changed() bool {
	return c.current == nil ||
		!equality.Semantic.DeepEqual(c.current.Spec, c.want.Spec) ||
		!equality.Semantic.DeepEqual(c.current.Labels, c.want.Labels)
}

// planVertices compares the Vertices p wants (from MakeVertices) with the
// ones carrying its pipeline label. A Vertex p controls is patched to the
// wanted one (see mergeVertex); one it does not control is reported, not
// touched; one p controls but no longer wants is removed.
func planVertices(p *v1alpha1.Pipeline, want []*v1alpha1.Vertex, existing []*v1alpha1.Vertex) vertexPlan {
	byName := make(map[string]*v1alpha1.Vertex, len(existing))
	for _, v := range existing {
		byName[v.Name] = v
	}
	var plan vertexPlan
	wanted := make(map[string]bool, len(want))
	for _, w := range want {
		wanted[w.Name] = true
		current, ok := byName[w.Name]
		switch {
		case !ok:
			plan.changes = append(plan.changes, vertexChange{want: w})
		case !metav1.IsControlledBy(current, p):
			plan.notOwned = append(plan.notOwned, w.Name)
		default:
			plan.changes = append(plan.changes, vertexChange{current: current, want: mergeVertex(current, w)})
		}
	}
	for _, v := range existing {
		if !wanted[v.Name] && metav1.IsControlledBy(v, p) && v.DeletionTimestamp.IsZero() {
			plan.remove = append(plan.remove, v)
		}
	}
	return plan
}

// mergeVertex is current brought to want: want's spec, except replicas,
// which the scaler owns through the scale subresource, and current's
// metadata (annotations are the Vertex reconciler's) with want's labels
// added.
func mergeVertex(current, want *v1alpha1.Vertex) *v1alpha1.Vertex {
	out := current.DeepCopy()
	out.Spec = *want.Spec.DeepCopy()
	out.Spec.Replicas = current.Spec.Replicas
	if len(want.Labels) > 0 {
		labels := maps.Clone(current.Labels)
		if labels == nil {
			labels = make(map[string]string, len(want.Labels))
		}
		maps.Copy(labels, want.Labels)
		out.Labels = labels
	}
	return out
}

// controlled is the Vertices among vs that p controls and that are not
// being deleted.
func controlled(p *v1alpha1.Pipeline, vs []*v1alpha1.Vertex) []*v1alpha1.Vertex {
	var out []*v1alpha1.Vertex
	for _, v := range vs {
		if metav1.IsControlledBy(v, p) && v.DeletionTimestamp.IsZero() {
			out = append(out, v)
		}
	}
	return out
}
