package node

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestStopGrace(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name string
		pod  corev1.Pod
		want time.Duration
	}{
		{"deleting: the deletion's grace", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now, DeletionGracePeriodSeconds: ptr.To[int64](7)},
			Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](60)},
		}, 7 * time.Second},
		{"deleting without a grace: the spec's", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now},
			Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](60)},
		}, time.Minute},
		{"deleting, nothing set: Kubernetes' default", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now},
		}, 30 * time.Second},
		{"object gone: short", corev1.Pod{
			Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](60)},
		}, goneGrace},
	} {
		if got := stopGrace(&tc.pod); got != tc.want {
			t.Errorf("%s: stopGrace = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWithoutEnv(t *testing.T) {
	env := []corev1.EnvVar{{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}
	from := []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "i", Image: "x", Env: env, EnvFrom: from}},
		Containers:     []corev1.Container{{Name: "c", Image: "y", Env: env, EnvFrom: from, Command: []string{"run"}}},
	}}
	got, err := withoutEnv(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "i", Image: "x"}},
		Containers:     []corev1.Container{{Name: "c", Image: "y", Command: []string{"run"}}},
	}
	if d := cmp.Diff(want, got.(*corev1.Pod).Spec); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if other, _ := withoutEnv("tombstone"); other != "tombstone" {
		t.Errorf("a non-pod came back as %v", other)
	}
}
