package podrun

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons of container states, as the kubelet reports them.
const (
	reasonContainerCreating = "ContainerCreating"
	reasonPodInitializing   = "PodInitializing"
	reasonErrImagePull      = "ErrImagePull"
	reasonConfigError       = "CreateContainerConfigError"
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
	reasonCompleted         = "Completed"
	reasonError             = "Error"
	reasonStartError        = "StartError"
	reasonStatusUnknown     = "ContainerStatusUnknown"
)

// podState is everything a Pod's status is computed from.
type podState struct {
	pod       *corev1.Pod
	podIP     string
	hostIP    string
	startTime metav1.Time
	// stopped is set once Stop has torn the Pod down.
	stopped bool
	// init and containers are in spec order.
	init, containers []corev1.ContainerStatus
}

// makeStatus computes the PodStatus of s. Conditions whose status did not
// change keep their lastTransitionTime from prev.
func makeStatus(s podState, prev []corev1.PodCondition, now metav1.Time) corev1.PodStatus {
	spec := &s.pod.Spec
	initialized, pendingInit := initialized(s.init)
	phase := podPhase(spec.RestartPolicy, s.init, s.containers, initialized, s.stopped)

	var unready []string
	for _, c := range s.containers {
		if !c.Ready {
			unready = append(unready, c.Name)
		}
	}
	gen := s.pod.Generation
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, ObservedGeneration: gen, LastTransitionTime: now}
		if ok {
			c.Status = corev1.ConditionTrue
		} else {
			c.Reason, c.Message = reason, msg
		}
		if i := slices.IndexFunc(prev, func(p corev1.PodCondition) bool { return p.Type == t }); i >= 0 && prev[i].Status == c.Status {
			c.LastTransitionTime = prev[i].LastTransitionTime
		}
		return c
	}
	readyReason, readyMsg := "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	switch phase {
	case corev1.PodSucceeded:
		readyReason, readyMsg = "PodCompleted", ""
	case corev1.PodFailed:
		readyReason, readyMsg = "PodFailed", ""
	}
	ready := len(unready) == 0 && phase == corev1.PodRunning
	initReason, initMsg := "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(pendingInit, " "))

	st := corev1.PodStatus{
		ObservedGeneration: gen,
		Phase:              phase,
		Conditions: []corev1.PodCondition{
			cond(corev1.PodReadyToStartContainers, !s.stopped, "", ""),
			cond(corev1.PodInitialized, initialized, initReason, initMsg),
			cond(corev1.PodReady, ready, readyReason, readyMsg),
			cond(corev1.ContainersReady, ready, readyReason, readyMsg),
			cond(corev1.PodScheduled, true, "", ""),
		},
		HostIP:    s.hostIP,
		HostIPs:   []corev1.HostIP{{IP: s.hostIP}},
		PodIP:     s.podIP,
		PodIPs:    []corev1.PodIP{{IP: s.podIP}},
		StartTime: &s.startTime,
		QOSClass:  s.pod.Status.QOSClass, // set by the API server; the kubelet does not change it
	}
	for _, c := range s.init {
		st.InitContainerStatuses = append(st.InitContainerStatuses, *c.DeepCopy())
	}
	for _, c := range s.containers {
		st.ContainerStatuses = append(st.ContainerStatuses, *c.DeepCopy())
	}
	// The kubelet sorts app container statuses by name (init ones stay in
	// spec order).
	slices.SortFunc(st.ContainerStatuses, func(a, b corev1.ContainerStatus) int { return cmp.Compare(a.Name, b.Name) })
	return st
}

// initialized reports whether every init container completed, and names
// those that did not.
func initialized(init []corev1.ContainerStatus) (bool, []string) {
	var pending []string
	for _, c := range init {
		if t := c.State.Terminated; t == nil || t.ExitCode != 0 {
			pending = append(pending, c.Name)
		}
	}
	return len(pending) == 0, pending
}

// podPhase is the kubelet's phase rule. A stopped Pod is terminal:
// Succeeded when every container exited 0, else Failed.
func podPhase(policy corev1.RestartPolicy, init, containers []corev1.ContainerStatus, initialized, stopped bool) corev1.PodPhase {
	if !initialized {
		if stopped || policy == corev1.RestartPolicyNever && slices.ContainsFunc(init, failed) {
			return corev1.PodFailed
		}
		return corev1.PodPending
	}
	var running, waiting, terminated, succeeded int
	for _, c := range containers {
		switch {
		case c.State.Running != nil:
			running++
		case c.State.Terminated != nil:
			terminated++
			if c.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case c.LastTerminationState.Terminated != nil:
			terminated++ // waiting to restart counts as stopped, like the kubelet
		default:
			waiting++
		}
	}
	if stopped {
		if terminated > 0 && succeeded == len(containers) {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case terminated > 0:
		switch {
		case policy == corev1.RestartPolicyAlways:
			return corev1.PodRunning // restarting
		case succeeded == terminated:
			return corev1.PodSucceeded
		case policy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		}
		return corev1.PodRunning // OnFailure: restarting the failed ones
	}
	return corev1.PodPending
}

func failed(c corev1.ContainerStatus) bool {
	return c.State.Terminated != nil && c.State.Terminated.ExitCode != 0
}
