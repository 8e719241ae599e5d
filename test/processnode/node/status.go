package node

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// terminalStatus is the last status of a stopped pod: every container
// terminated and not ready, and the phase Succeeded if all of them exited
// with 0, else Failed, as a kubelet reports a deleted pod. Virtual-kubelet
// needs the containers terminated to let the Pod object go.
func terminalStatus(s corev1.PodStatus) corev1.PodStatus {
	s = *s.DeepCopy()
	if s.Phase == corev1.PodSucceeded || s.Phase == corev1.PodFailed {
		return s
	}
	now := metav1.Now()
	failed := false
	for i := range s.ContainerStatuses {
		cs := &s.ContainerStatuses[i]
		cs.Ready = false
		started := false
		cs.Started = &started
		if t := cs.State.Terminated; t != nil {
			failed = failed || t.ExitCode != 0
			continue
		}
		// podrun's Stop leaves every container terminated; this is
		// only a guard, so virtual-kubelet never waits on a status that
		// says otherwise.
		failed = true
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 137, Reason: "Unknown", Message: "the process node stopped the pod", FinishedAt: now,
		}}
	}
	s.Phase = corev1.PodSucceeded
	if failed {
		s.Phase = corev1.PodFailed
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		setCondition(&s, t, corev1.ConditionFalse, "PodCompleted", now)
	}
	return s
}

// setCondition sets the status of the condition of type t, adding it if
// missing and moving its transition time only when the status changes.
func setCondition(s *corev1.PodStatus, t corev1.PodConditionType, status corev1.ConditionStatus, reason string, now metav1.Time) {
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != status {
			c.Status, c.LastTransitionTime = status, now
		}
		c.Reason = reason
		return
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: status, Reason: reason, LastTransitionTime: now})
}

// withAddresses fills in the pod's and host's IPs where podrun left them
// empty.
func withAddresses(s corev1.PodStatus, podIP, hostIP string) corev1.PodStatus {
	if s.PodIP == "" {
		s.PodIP = podIP
		s.PodIPs = []corev1.PodIP{{IP: podIP}}
	}
	if s.HostIP == "" {
		s.HostIP = hostIP
		s.HostIPs = []corev1.HostIP{{IP: hostIP}}
	}
	return s
}
