package node

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels every process node carries, so workloads (and tests) can select
// or avoid it.
const (
	// LabelProcessNode is "true" on every process node.
	LabelProcessNode = "freshet.dev/process-node"
	// LabelType is "process", the label virtual-kubelet providers use to
	// say what kind of virtual node this is.
	LabelType = "type"
)

// KubeletVersion is what the Node reports as its kubelet version. It is not
// a Kubernetes version, since no kubelet runs; nothing in the control plane
// parses it (kubectl shows it).
const KubeletVersion = "process-node/v1"

// machine is what a Node says about the host it runs on.
type machine struct {
	OS, Arch    string
	CPUs        int
	MemoryBytes int64
}

// resources are the machine's CPUs and memory: the Node's capacity apart
// from pods, and what podrun's resourceFieldRefs report for a container
// without limits.
func (m machine) resources() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(m.CPUs), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(m.MemoryBytes, resource.BinarySI),
	}
}

// nodeSpec is everything makeNode needs.
type nodeSpec struct {
	Name    string
	IP      string
	MaxPods int
	Labels  map[string]string
	Taints  []corev1.Taint
	Machine machine
}

// makeNode builds the Node object the node controller registers and keeps
// up to date: addresses, capacity, the conditions a kubelet reports and
// nothing else. It has no kubelet endpoint (port 0): `kubectl logs` and
// `exec` do not work; the logs are files in the node's state directory.
func makeNode(s nodeSpec) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:   s.Name,
		corev1.LabelOSStable:   s.Machine.OS,
		corev1.LabelArchStable: s.Machine.Arch,
		LabelType:              "process",
		LabelProcessNode:       "true",
	}
	maps.Copy(labels, s.Labels)
	resources := s.Machine.resources()
	resources[corev1.ResourcePods] = *resource.NewQuantity(int64(s.MaxPods), resource.DecimalSI)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: s.Taints},
		Status: corev1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources.DeepCopy(),
			Phase:       corev1.NodeRunning,
			Conditions:  nodeConditions(),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: s.IP},
				{Type: corev1.NodeHostName, Address: s.Name},
			},
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem: s.Machine.OS,
				Architecture:    s.Machine.Arch,
				KubeletVersion:  KubeletVersion,
			},
		},
	}
}

// nodeConditions are those a healthy kubelet reports. The node controller
// refreshes their heartbeat times; the lease is what keeps the node-
// lifecycle controller from marking the node NotReady.
func nodeConditions() []corev1.NodeCondition {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg,
			LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "process-node is running pods as local processes"),
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "process-node does not track memory pressure"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "process-node does not track disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "process-node does not track PID pressure"),
	}
}
