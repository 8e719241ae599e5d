package kubernetes

import (
	"net"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/freshetproj/freshet/pkg/reconciler/workload"
)

// URLs returns the base URLs (http://<pod IP>:<port>) of the pods in that
// take traffic, sorted and without duplicates; never nil.
//
// A pod takes traffic when it is not being deleted (so that it drains),
// has a Pod IP, is Running and its Ready condition is True: the same
// pods the EndpointSlice controller would publish as ready. The port is
// that of the container port named workload.PortName of the function's container
// (workload.ContainerName); a pod without one contributes nothing. Only
// status.podIP is used: on a dual-stack cluster it is the primary address,
// which is enough to reach the replica. IPv6 addresses are bracketed.
func URLs(in []corev1.Pod) []string {
	urls := []string{}
	for i := range in {
		p := &in[i]
		if !takesTraffic(p) {
			continue
		}
		port, ok := httpPort(p)
		if !ok {
			continue
		}
		urls = append(urls, "http://"+net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(port))))
	}
	slices.Sort(urls)
	return slices.Compact(urls)
}

func takesTraffic(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.PodIP == "" || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func httpPort(p *corev1.Pod) (int32, bool) {
	for _, c := range p.Spec.Containers {
		if c.Name != workload.ContainerName {
			continue
		}
		for _, port := range c.Ports {
			if port.Name == workload.PortName && port.ContainerPort > 0 {
				return port.ContainerPort, true
			}
		}
	}
	return 0, false
}
