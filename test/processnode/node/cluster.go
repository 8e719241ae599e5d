package node

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// cluster is podrun.Cluster over the API server: what a kubelet reads to
// fill a pod's volumes.
type cluster struct {
	core corev1client.CoreV1Interface
}

func (c cluster) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return c.core.ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (c cluster) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return c.core.Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Token requests a token for the pod's service account bound to the pod,
// as the kubelet does for projected service-account-token volumes: the API
// server invalidates it when the pod is deleted. An empty audience means
// the API server's own; no expiration, its default (an hour).
func (c cluster) Token(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (string, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{
			Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID,
		},
	}}
	if expirationSeconds > 0 {
		req.Spec.ExpirationSeconds = &expirationSeconds
	}
	if audience != "" {
		req.Spec.Audiences = []string{audience}
	}
	res, err := c.core.ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for service account %s/%s bound to pod %s: %w", pod.Namespace, sa, pod.Name, err)
	}
	return res.Status.Token, nil
}
