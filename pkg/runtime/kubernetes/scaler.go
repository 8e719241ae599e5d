package kubernetes

import (
	"context"
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// +kubebuilder:rbac:groups=freshet.dev,resources=functions;vertices,verbs=get;list;watch
// +kubebuilder:rbac:groups=freshet.dev,resources=functions/scale;vertices/scale,verbs=get;patch;update

// VertexPrefix starts a Scaler name that names a Vertex:
// "vertex:<namespace>/<vertex object name>". A name without it,
// "<namespace>/<function>", names a Function. A Function is the common
// case and keeps the router's key; the prefix is needed because a Function
// and a Vertex may share a namespace and name.
const VertexPrefix = "vertex:"

// Timeout bounds each API call made through the scaler.Replicas methods,
// which take no context.
const Timeout = 10 * time.Second

// FunctionName is the Scaler name of Function namespace/name.
func FunctionName(namespace, name string) string { return namespace + "/" + name }

// VertexName is the Scaler name of Vertex namespace/name (its object name,
// not its name inside the pipeline).
func VertexName(namespace, name string) string { return VertexPrefix + namespace + "/" + name }

// Scaler applies the scaler's decisions to Functions and Vertices through
// their scale subresource; it implements scaler.Replicas. The Function and
// Vertex controllers then carry spec.replicas to the Deployment.
type Scaler struct {
	// Client needs the Freshet types and autoscaling/v1 in its scheme.
	Client client.Client
}

// object returns an empty Function or Vertex with name's key.
func object(name string) (client.Object, error) {
	rest, vertex := strings.CutPrefix(name, VertexPrefix)
	ns, n, ok := strings.Cut(rest, "/")
	if !ok || ns == "" || n == "" || strings.Contains(n, "/") {
		return nil, fmt.Errorf("bad scaler name %q: want <namespace>/<function> or %s<namespace>/<vertex>", name, VertexPrefix)
	}
	key := types.NamespacedName{Namespace: ns, Name: n}
	if vertex {
		return &v1alpha1.Vertex{ObjectMeta: metaFor(key)}, nil
	}
	return &v1alpha1.Function{ObjectMeta: metaFor(key)}, nil
}

// SetReplicas asks for n replicas of name; see SetReplicasContext.
func (s *Scaler) SetReplicas(name string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return s.SetReplicasContext(ctx, name, n)
}

// SetReplicasContext writes n to the scale subresource of the Function or
// Vertex name (a merge patch of spec.replicas, so no read and no conflict),
// never to the object's spec directly.
func (s *Scaler) SetReplicasContext(ctx context.Context, name string, n int) error {
	if n < 0 || n > 1<<31-1 {
		return fmt.Errorf("scale %s: replicas %d out of range", name, n)
	}
	obj, err := object(name)
	if err != nil {
		return err
	}
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n))
	if err := s.Client.SubResource("scale").Patch(ctx, obj, patch, client.WithSubResourceBody(&autoscalingv1.Scale{})); err != nil {
		return fmt.Errorf("scale %s to %d: %w", name, n, err)
	}
	return nil
}

// Status reports the replicas name asks for and those ready; zeros when
// they cannot be read (see StatusContext).
func (s *Scaler) Status(name string) (desired, ready int) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	desired, ready, _ = s.StatusContext(ctx, name)
	return desired, ready
}

// StatusContext reads the Function or Vertex name: desired is spec.replicas
// (what the scaler last wrote) or, while that is unset, status.replicas
// (what runs); ready is status.readyReplicas.
func (s *Scaler) StatusContext(ctx context.Context, name string) (desired, ready int, err error) {
	obj, err := object(name)
	if err != nil {
		return 0, 0, err
	}
	if err := s.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return 0, 0, fmt.Errorf("status of %s: %w", name, err)
	}
	var spec *int32
	var replicas, readyReplicas int32
	switch o := obj.(type) {
	case *v1alpha1.Function:
		spec, replicas, readyReplicas = o.Spec.Replicas, o.Status.Replicas, o.Status.ReadyReplicas
	case *v1alpha1.Vertex:
		spec, replicas, readyReplicas = o.Spec.Replicas, o.Status.Replicas, o.Status.ReadyReplicas
	}
	if spec != nil {
		replicas = *spec
	}
	return int(replicas), int(readyReplicas), nil
}

func metaFor(key types.NamespacedName) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}
}
