package podrun

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestContainerArgv(t *testing.T) {
	img := Image{Entrypoint: []string{"/bin/ep", "-x"}, Cmd: []string{"default", "$(A)"}}
	vars := map[string]string{"A": "a", "B": "b"}
	for _, tc := range []struct {
		name          string
		command, args []string
		img           Image
		want          []string
		wantErr       bool
	}{
		{name: "image only", img: img, want: []string{"/bin/ep", "-x", "default", "$(A)"}}, // image parts are not expanded
		{name: "args replace cmd", img: img, args: []string{"$(B)"}, want: []string{"/bin/ep", "-x", "b"}},
		{name: "command drops cmd", img: img, command: []string{"run", "$(A)"}, want: []string{"run", "a"}},
		{name: "command and args", img: img, command: []string{"run"}, args: []string{"$$(A)", "$(C)"}, want: []string{"run", "$(A)", "$(C)"}},
		{name: "nothing", img: Image{}, wantErr: true},
		{name: "args without entrypoint", img: Image{}, args: []string{"x"}, want: []string{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := containerArgv(&corev1.Container{Command: tc.command, Args: tc.args}, tc.img, vars)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("argv %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProcessEnvPrecedence(t *testing.T) {
	img := Image{Env: []string{"PATH=/img/bin", "FROM_IMAGE=1", "SHARED=image", "HOSTNAME=img"}}
	kubelet := envList{{"SHARED", "pod"}, {"OWN", "x=y"}}
	got := processEnv("mypod", img, kubelet).environ()
	want := []string{"PATH=/img/bin", "HOSTNAME=img", "FROM_IMAGE=1", "SHARED=pod", "OWN=x=y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if got := processEnv("mypod", Image{}, nil).environ(); !slices.Equal(got, []string{"PATH=" + defaultPath, "HOSTNAME=mypod"}) {
		t.Errorf("defaults %q", got)
	}
}

func TestContainerEnv(t *testing.T) {
	cl := &fakeCluster{}
	cl.setConfigMap(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cm"}, Data: map[string]string{"b": "2", "a": "1", "bad-name": "x", "X": "from-cm"}})
	cl.setSecret(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Data: map[string][]byte{"k": []byte("secret")}})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1",
		Labels: map[string]string{"app": "x"}, Annotations: map[string]string{"note": "n"}}}
	facts := podFacts{pod: pod, podIP: "127.0.201.9", hostIP: "127.0.0.1", nodeName: "node1",
		allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}}
	cmRef := func(name, key string, optional bool) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: new(optional)}}
	}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	for _, tc := range []struct {
		name    string
		c       corev1.Container
		want    []string // NAME=value, in order, before the KUBERNETES_* ones
		wantErr string
	}{{
		name: "envFrom with prefix, sorted, invalid names skipped, env overrides",
		c: corev1.Container{
			EnvFrom: []corev1.EnvFromSource{
				{Prefix: "P_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}},
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: new(true)}},
			},
			Env: []corev1.EnvVar{{Name: "P_a", Value: "override"}},
		},
		want: []string{"P_X=from-cm", "P_a=override", "P_b=2", "P_bad-name=x", "k=secret"},
	}, {
		name: "expansion sees earlier vars and service vars only",
		c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "A", Value: "$(B)"}, // B is defined later: kept verbatim
			{Name: "B", Value: "b"},
			{Name: "C", Value: "$(B)$(A)-$(KUBERNETES_SERVICE_HOST)"},
			{Name: "EMPTY"},
		}},
		want: []string{"A=$(B)", "B=b", "C=b$(B)-10.0.0.1", "EMPTY="},
	}, {
		name: "fieldRefs",
		c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "N", ValueFrom: field("metadata.name")},
			{Name: "NS", ValueFrom: field("metadata.namespace")},
			{Name: "UID", ValueFrom: field("metadata.uid")},
			{Name: "L", ValueFrom: field("metadata.labels['app']")},
			{Name: "AN", ValueFrom: field("metadata.annotations['note']")},
			{Name: "NODE", ValueFrom: field("spec.nodeName")},
			{Name: "IP", ValueFrom: field("status.podIP")},
			{Name: "IPS", ValueFrom: field("status.podIPs")},
			{Name: "HOST", ValueFrom: field("status.hostIP")},
		}},
		want: []string{"N=p", "NS=ns", "UID=u1", "L=x", "AN=n", "NODE=node1", "IP=127.0.201.9", "IPS=127.0.201.9", "HOST=127.0.0.1"},
	}, {
		name: "configMapKeyRef optional",
		c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "A", ValueFrom: cmRef("cm", "a", false)},
			{Name: "NOKEY", ValueFrom: cmRef("cm", "zz", true)},
			{Name: "NOCM", ValueFrom: cmRef("zz", "a", true)},
		}},
		want: []string{"A=1"},
	}, {
		name:    "configMapKeyRef missing key",
		c:       corev1.Container{Env: []corev1.EnvVar{{Name: "A", ValueFrom: cmRef("cm", "zz", false)}}},
		wantErr: "couldn't find key zz in ConfigMap ns/cm",
	}, {
		name:    "configMapKeyRef missing configmap",
		c:       corev1.Container{Env: []corev1.EnvVar{{Name: "A", ValueFrom: cmRef("zz", "a", false)}}},
		wantErr: `configmap "zz"`,
	}, {
		name: "resourceFieldRef",
		c: corev1.Container{
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
			},
			Env: []corev1.EnvVar{
				{Name: "LCPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
				{Name: "LMEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
				{Name: "RCPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu"}}},
				{Name: "RCPUM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
				{Name: "RMEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.memory"}}},
			},
		},
		want: []string{"LCPU=4", "LMEM=1024", "RCPU=1", "RCPUM=250", "RMEM=0"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := containerEnv(context.Background(), facts, &tc.c, cl, "10.0.0.1:443")
			if failedAsWanted(t, err, tc.wantErr) {
				return
			}
			got := env.environ()
			svc := serviceEnv("10.0.0.1:443").environ()
			if !slices.Equal(got[len(got)-len(svc):], svc) {
				t.Errorf("service env missing at the end: %q", got)
			}
			if diff := cmp.Diff(tc.want, got[:len(got)-len(svc)]); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServiceEnv(t *testing.T) {
	got := serviceEnv("127.0.0.1:6443").environ()
	want := []string{
		"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=6443", "KUBERNETES_SERVICE_PORT_HTTPS=6443",
		"KUBERNETES_PORT=tcp://127.0.0.1:6443", "KUBERNETES_PORT_6443_TCP=tcp://127.0.0.1:6443",
		"KUBERNETES_PORT_6443_TCP_PROTO=tcp", "KUBERNETES_PORT_6443_TCP_PORT=6443", "KUBERNETES_PORT_6443_TCP_ADDR=127.0.0.1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := serviceEnv(""); got != nil {
		t.Errorf("no API server: %q", got)
	}
}

func TestFormatMap(t *testing.T) {
	if got, want := formatMap(map[string]string{"b": `say "hi"`, "a": "1"}), "a=\"1\"\nb=\"say \\\"hi\\\"\""; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLookupImage(t *testing.T) {
	images := map[string]Image{
		"exact:v1@sha256:ab":  {WorkingDir: "exact"},
		"reg:5000/ns/app:v2":  {WorkingDir: "tagged"},
		"reg:5000/ns/app":     {WorkingDir: "untagged"},
		"ghcr.io/freshet/ctl": {WorkingDir: "ctl"},
	}
	for ref, want := range map[string]string{
		"exact:v1@sha256:ab":            "exact",
		"reg:5000/ns/app:v2":            "tagged",
		"reg:5000/ns/app:v2@sha256:cd":  "tagged",
		"reg:5000/ns/app:v3":            "untagged",
		"reg:5000/ns/app":               "untagged",
		"ghcr.io/freshet/ctl:latest":    "ctl",
		"ghcr.io/freshet/ctl@sha256:ef": "ctl",
		"ghcr.io/freshet/other:v1":      "",
		"reg:5000/ns/app2":              "",
	} {
		img, ok := lookupImage(images, ref)
		if ok != (want != "") || img.WorkingDir != want {
			t.Errorf("lookupImage(%q) = %q, %v; want %q", ref, img.WorkingDir, ok, want)
		}
	}
}
