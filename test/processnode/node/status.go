package node

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	// defaultGrace is Kubernetes' default terminationGracePeriodSeconds.
	defaultGrace = 30 * time.Second
	// goneGrace is the grace of a pod whose object is already gone from the
	// API server (force-deleted): nobody waits for it, so it gets about
	// what a kubelet gives then.
	goneGrace = 2 * time.Second
)

// stopGrace is how long pod's processes get between SIGTERM and SIGKILL.
// Virtual-kubelet passes the API server's object when it is being deleted
// (DeletionTimestamp set) and the provider's own copy when the object is
// already gone.
func stopGrace(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionTimestamp == nil:
		return goneGrace
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultGrace
}
