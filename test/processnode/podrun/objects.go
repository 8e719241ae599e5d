package podrun

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// objects fetches what configMapKeyRef, secretKeyRef, envFrom and volumes
// refer to.
type objects interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// configMapData is the Data and BinaryData of a ConfigMap; found is false,
// with no error, when it does not exist and optional says that is fine.
func configMapData(ctx context.Context, objs objects, ns, name string, optional *bool) (data map[string]string, binary map[string][]byte, found bool, err error) {
	cm, err := objs.ConfigMap(ctx, ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) && ptrTrue(optional) {
			return nil, nil, false, nil
		}
		return nil, nil, false, fmt.Errorf("configmap %q: %w", name, err)
	}
	return cm.Data, cm.BinaryData, true, nil
}

// secretData is the Data of a Secret; found is false, with no error, when
// it does not exist and optional says that is fine.
func secretData(ctx context.Context, objs objects, ns, name string, optional *bool) (data map[string][]byte, found bool, err error) {
	s, err := objs.Secret(ctx, ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) && ptrTrue(optional) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("secret %q: %w", name, err)
	}
	return s.Data, true, nil
}

func ptrTrue(b *bool) bool { return b != nil && *b }
