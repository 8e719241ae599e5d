package workload

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ApplyDeployment creates want, or brings the live Deployment's labels,
// replicas, strategy and pod template to want's. It returns the live object.
func ApplyDeployment(ctx context.Context, c client.Client, want *appsv1.Deployment) (*appsv1.Deployment, error) {
	return apply(ctx, c, want, &appsv1.Deployment{},
		func(got *appsv1.Deployment) bool {
			// DeepDerivative: fields the API server defaulted (and we left
			// unset) do not count as a difference.
			return equality.Semantic.DeepDerivative(want.Spec.Template, got.Spec.Template) &&
				equality.Semantic.DeepEqual(want.Spec.Replicas, got.Spec.Replicas) &&
				equality.Semantic.DeepDerivative(want.Spec.Strategy, got.Spec.Strategy)
		},
		func(got *appsv1.Deployment) {
			got.Spec.Replicas = want.Spec.Replicas
			got.Spec.Strategy = want.Spec.Strategy
			got.Spec.Template = want.Spec.Template
		})
}

// ApplyService creates want, or brings the live Service's labels, selector
// and ports to want's. It returns the live object.
func ApplyService(ctx context.Context, c client.Client, want *corev1.Service) (*corev1.Service, error) {
	return apply(ctx, c, want, &corev1.Service{},
		func(got *corev1.Service) bool {
			return equality.Semantic.DeepDerivative(want.Spec.Selector, got.Spec.Selector) &&
				equality.Semantic.DeepDerivative(want.Spec.Ports, got.Spec.Ports)
		},
		func(got *corev1.Service) {
			got.Spec.Selector = want.Spec.Selector
			got.Spec.Ports = want.Spec.Ports
		})
}

// apply gets the live object into got; creates want if there is none;
// refuses one controlled by someone else; and otherwise updates it with
// merge when its labels or same() say it differs.
func apply[T client.Object](ctx context.Context, c client.Client, want, got T, same func(T) bool, merge func(T)) (T, error) {
	kind := strings.TrimPrefix(fmt.Sprintf("%T", want), "*v1.")
	err := c.Get(ctx, client.ObjectKeyFromObject(want), got)
	if apierrors.IsNotFound(err) {
		if err := c.Create(ctx, want); err != nil {
			return want, fmt.Errorf("create %s %s: %w", kind, want.GetName(), err)
		}
		return want, nil
	}
	if err != nil {
		return got, fmt.Errorf("get %s %s: %w", kind, want.GetName(), err)
	}
	if !sameController(got, want) {
		return got, fmt.Errorf("%s %s exists and belongs to something else", kind, want.GetName())
	}
	if same(got) && equality.Semantic.DeepDerivative(want.GetLabels(), got.GetLabels()) {
		return got, nil
	}
	got.SetLabels(want.GetLabels())
	merge(got)
	if err := c.Update(ctx, got); err != nil {
		return got, fmt.Errorf("update %s %s: %w", kind, want.GetName(), err)
	}
	return got, nil
}

// sameController reports whether got is controlled by want's controller.
func sameController(got, want client.Object) bool {
	for _, g := range got.GetOwnerReferences() {
		for _, w := range want.GetOwnerReferences() {
			if g.Controller != nil && *g.Controller && g.UID == w.UID {
				return true
			}
		}
	}
	return false
}
