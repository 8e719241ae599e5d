package node

import corev1 "k8s.io/api/core/v1"

// withoutEnv is the informer transform for virtual-kubelet's copy of the
// node's pods: it drops the containers' env and envFrom.
//
// Virtual-kubelet resolves every container's environment before calling
// CreatePod, and does it in ways that do not fit this node: it fails the
// pod on a status.podIP or status.hostIP fieldRef (it has no IP yet), it
// sets KUBERNETES_SERVICE_HOST and service links to cluster IPs no local
// process can reach, and it fails on a missing ConfigMap where a kubelet
// reports CreateContainerConfigError. Podrun resolves the environment
// itself, from the pod as the API server has it (CreatePod reads it
// afresh), so virtual-kubelet is better off seeing none.
func withoutEnv(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			cs[i].Env, cs[i].EnvFrom = nil, nil
		}
	}
	return pod, nil
}
