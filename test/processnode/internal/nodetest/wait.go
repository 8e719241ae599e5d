package nodetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/freshetproj/freshet/internal/poll"
)

// NodeReady is a poll.Until condition: "" once the node called name is
// Ready, else why not.
func NodeReady(ctx context.Context, c kubernetes.Interface, name string) string {
	nd, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	for _, cond := range nd.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			return ""
		}
	}
	return fmt.Sprintf("conditions %+v", nd.Status.Conditions)
}

// PodReady reports whether p's Ready condition is True.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// WaitPodReady waits up to a minute for the pod to be Running and Ready
// and returns it.
func WaitPodReady(t testing.TB, ctx context.Context, c kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	poll.Until(t, 60*time.Second, "pod "+name+" Running and Ready", func() string {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		pod = p
		if p.Status.Phase != corev1.PodRunning || !PodReady(p) {
			return fmt.Sprintf("phase %s, conditions %+v, containers %+v", p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
		}
		return ""
	})
	return pod
}
