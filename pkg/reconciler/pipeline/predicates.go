package pipeline

import (
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Functions and Vertices change their status often (replicas, backlog); a
// Pipeline cares only about some of it. These predicates let through
// creations, deletions and the updates that matter.

// functionChanged passes a Function update that changes its spec or its
// address (a sink may name it).
var functionChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	old, ok1 := e.ObjectOld.(*v1alpha1.Function)
	cur, ok2 := e.ObjectNew.(*v1alpha1.Function)
	if !ok1 || !ok2 {
		return true
	}
	return old.Generation != cur.Generation || !equality.Semantic.DeepEqual(old.Status.Address, cur.Status.Address)
}}

// vertexChanged passes a Vertex update that changes what the Pipeline
// reads or writes: its spec, labels, owners, deletion, reported phase or
// conditions.
var vertexChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	old, ok1 := e.ObjectOld.(*v1alpha1.Vertex)
	cur, ok2 := e.ObjectNew.(*v1alpha1.Vertex)
	if !ok1 || !ok2 {
		return true
	}
	return !equality.Semantic.DeepEqual(vertexReport(old), vertexReport(cur))
}}

// report is the part of a Vertex a Pipeline reads. (Exported fields, for
// equality.Semantic.)
type report struct {
	Generation, ObservedGeneration int64
	Deleting                       bool
	Labels                         map[string]string
	Owners                         []metav1.OwnerReference
	Phase                          v1alpha1.Phase
	Conditions                     []metav1.Condition
}

func vertexReport(v *v1alpha1.Vertex) report {
	return report{
		Generation: v.Generation, ObservedGeneration: v.Status.ObservedGeneration,
		Deleting: !v.DeletionTimestamp.IsZero(), Labels: v.Labels, Owners: v.OwnerReferences,
		Phase: v.Status.Phase, Conditions: v.Status.Conditions,
	}
}
