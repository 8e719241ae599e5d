package pipeline

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
)

// listVertices lists the Vertices labelled as p's, whoever controls them.
func (r *Reconciler) listVertices(ctx context.Context, p *v1alpha1.Pipeline) ([]*v1alpha1.Vertex, error) {
	var list v1alpha1.VertexList
	if err := r.List(ctx, &list, client.InNamespace(p.Namespace),
		client.MatchingLabels{resources.PipelineLabelKey: p.Name}); err != nil {
		return nil, fmt.Errorf("listing vertices: %w", err)
	}
	out := make([]*v1alpha1.Vertex, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// applyVertices carries out plan. It returns the wanted Vertices as they are
// now, in pipeline order, and the names of the ones another controller
// holds, including any found only when creating them.
func (r *Reconciler) applyVertices(ctx context.Context, plan vertexPlan) ([]*v1alpha1.Vertex, []string, error) {
	notOwned := plan.notOwned
	var vertices []*v1alpha1.Vertex
	for _, c := range plan.changes {
		switch {
		case c.create():
			err := r.Create(ctx, c.want)
			if apierrors.IsAlreadyExists(err) {
				notOwned = append(notOwned, c.want.Name)
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("creating vertex %s: %w", c.want.Name, err)
			}
		case c.changed():
			// A merge patch touches only what changed: spec.replicas (the
			// scaler's) and annotations (the Vertex reconciler's) are
			// never sent, so their concurrent writes are not overwritten.
			if err := r.Patch(ctx, c.want, client.MergeFrom(c.current)); err != nil {
				return nil, nil, fmt.Errorf("updating vertex %s: %w", c.want.Name, err)
			}
		}
		vertices = append(vertices, c.want)
	}
	for _, v := range plan.remove {
		err := r.Delete(ctx, v, client.Preconditions{UID: &v.UID})
		if client.IgnoreNotFound(err) != nil {
			return nil, nil, fmt.Errorf("deleting vertex %s: %w", v.Name, err)
		}
	}
	return vertices, notOwned, nil
}

// setDesiredPhase writes phase into each Vertex's spec.lifecycle, where it
// differs, and returns the Vertices as they are now.
func (r *Reconciler) setDesiredPhase(ctx context.Context, vertices []*v1alpha1.Vertex, phase v1alpha1.Phase) ([]*v1alpha1.Vertex, error) {
	out := make([]*v1alpha1.Vertex, 0, len(vertices))
	for _, v := range vertices {
		if v.Spec.Lifecycle.DesiredPhase != phase {
			patched := v.DeepCopy()
			patched.Spec.Lifecycle.DesiredPhase = phase
			if err := r.Patch(ctx, patched, client.MergeFrom(v)); err != nil {
				return nil, fmt.Errorf("setting vertex %s to %s: %w", v.Name, phase, err)
			}
			v = patched
		}
		out = append(out, v)
	}
	return out, nil
}
