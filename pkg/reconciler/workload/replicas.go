package workload

import "github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"

// Replicas is how many replicas a function runs: the scaler's decision
// (requested, written through the scale subresource of the Function or
// Vertex) kept within [min, max] of scale, or min before the scaler has
// decided (requested nil). scale must be defaulted.
func Replicas(scale *v1alpha1.Scale, requested *int32) int32 {
	lo, hi := *scale.Min, *scale.Max
	if requested == nil {
		return lo
	}
	return min(max(*requested, lo), hi)
}
