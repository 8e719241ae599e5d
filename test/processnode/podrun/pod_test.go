package podrun

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/freshetproj/freshet/internal/poll"
	"github.com/freshetproj/freshet/test/internal/child"
)

// This package's tests use 127.0.201.0/24 for Pod IPs, one address per test,
// so they do not collide with each other or other packages' tests.

// envOf asks the test server in a Pod for its environment.
type serverEnv struct {
	Env  []string `json:"env"`
	Args []string `json:"args"`
	Cwd  string   `json:"cwd"`
	Pid  int      `json:"pid"`
}

func fetchEnv(t *testing.T, base string) serverEnv {
	t.Helper()
	var e serverEnv
	if err := json.Unmarshal([]byte(mustGet(t, base+"/env")), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e serverEnv) get(name string) (string, bool) {
	for _, kv := range e.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

func TestTwoPodsListenOnTheSamePort(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	a := start(t, cfg, testPod("a"), "127.0.201.1")
	b := start(t, cfg, testPod("b"), "127.0.201.2")

	ea := fetchEnv(t, "http://127.0.201.1:8080")
	eb := fetchEnv(t, "http://127.0.201.2:8080")
	if h, _ := ea.get("HOSTNAME"); h != "a" {
		t.Errorf("127.0.201.1 answered as %q, want pod a", h)
	}
	if h, _ := eb.get("HOSTNAME"); h != "b" {
		t.Errorf("127.0.201.2 answered as %q, want pod b", h)
	}
	for _, p := range []*Pod{a, b} {
		poll.Until(t, waitLong, "pod "+p.pod.Name+" Running and Ready", func() string {
			st := p.Status()
			if st.Phase != corev1.PodRunning || condition(st, corev1.PodReady) != corev1.ConditionTrue {
				return fmt.Sprintf("pod not running and ready: %+v", st)
			}
			return ""
		})
		st := p.Status()
		if st.PodIP != p.podIP || st.HostIP != "127.0.0.1" {
			t.Errorf("podIP %q hostIP %q", st.PodIP, st.HostIP)
		}
		cs := st.ContainerStatuses[0]
		if !strings.HasPrefix(cs.ContainerID, "process://") || cs.ImageID != "process://"+testServer || !cs.Ready || cs.Started == nil || !*cs.Started {
			t.Errorf("container status %+v", cs)
		}
	}
	// The log has what the program printed.
	poll.Until(t, waitLong, "the program's output in the log", func() string {
		b, _ := os.ReadFile(a.LogPath("app"))
		if !strings.Contains(string(b), "listening on :8080") {
			return fmt.Sprintf("log %q", b)
		}
		return ""
	})
}

// An application bound to its Pod IP only (not to all addresses) is
// reachable through the forwarder and passes its probes: both connect to the
// Pod IP inside the namespace, where all of 127.0.0.0/8 is local.
func TestAppBoundToItsPodIP(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("podip", func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Env = []corev1.EnvVar{
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "LISTEN_ADDR", Value: "$(POD_IP):8080"},
		}
		c.ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
			PeriodSeconds: 1,
		}
		c.LivenessProbe = &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
			PeriodSeconds:    1,
			FailureThreshold: 5,
		}
	}), "127.0.201.26")
	mustGet(t, "http://127.0.201.26:8080/healthz")
	poll.Until(t, waitLong, "Ready by its readiness probe", func() string {
		if st := p.Status(); condition(st, corev1.PodReady) != corev1.ConditionTrue {
			return fmt.Sprintf("not ready: %+v", st)
		}
		return ""
	})
	b, _ := os.ReadFile(p.LogPath("app"))
	if !strings.Contains(string(b), "listening on 127.0.201.26:8080") {
		t.Errorf("the server did not listen on its Pod IP only; log:\n%s", b)
	}
	if cs := p.Status().ContainerStatuses[0]; cs.RestartCount != 0 {
		t.Errorf("restarted %d times: the liveness probe failed", cs.RestartCount)
	}
}

func TestHostNetworkPodListensOnTheNode(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	ports, err := child.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := ports[0]
	p := start(t, cfg, testPod("hostnet", func(p *corev1.Pod) {
		p.Spec.HostNetwork = true
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PORT", Value: fmt.Sprint(port)}}
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: int32(port)}}
	}), "127.0.0.1")
	e := fetchEnv(t, fmt.Sprintf("http://127.0.0.1:%d", port))
	if h, _ := e.get("HOSTNAME"); h != "hostnet" {
		t.Errorf("HOSTNAME %q", h)
	}
	if st := p.Status(); st.PodIP != "127.0.0.1" {
		t.Errorf("podIP %q", st.PodIP)
	}
}

func TestEnvironmentAndArgs(t *testing.T) {
	t.Parallel()
	cl := &fakeCluster{}
	cl.setConfigMap(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "cm"}, Data: map[string]string{"greeting": "hello", "K1": "v1"}})
	cl.setSecret(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "sec"}, Data: map[string][]byte{"password": []byte("s3cret")}})
	cfg := testConfig(t, cl)
	pod := testPod("envpod", func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "demo"}
		p.Spec.ServiceAccountName = "sa1"
		c := &p.Spec.Containers[0]
		c.Args = []string{"serve", "$(GREETING)-$(POD_NAME)", "$$(GREETING)", "$(NOPE)"}
		c.WorkingDir = "/tmp"
		c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}
		c.Env = []corev1.EnvVar{
			{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "greeting"}}},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "password"}}},
			{Name: "MISSING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "x", Optional: new(true)}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "SA", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
			{Name: "CPU_LIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "COMBINED", Value: "$(POD_NAME)@$(POD_IP):$(KUBERNETES_SERVICE_PORT)"},
		}
	})
	start(t, cfg, pod, "127.0.201.3")
	e := fetchEnv(t, "http://127.0.201.3:8080")
	want := map[string]string{
		"HOSTNAME":                "envpod",
		"FROM_IMAGE":              "yes",
		"PATH":                    defaultPath,
		"KUBERNETES_SERVICE_HOST": "127.0.0.1",
		"KUBERNETES_SERVICE_PORT": "6443",
		"CM_greeting":             "hello",
		"CM_K1":                   "v1",
		"GREETING":                "hello",
		"PASSWORD":                "s3cret",
		"POD_NAME":                "envpod",
		"POD_IP":                  "127.0.201.3",
		"APP":                     "demo",
		"SA":                      "sa1",
		"CPU_LIMIT":               fmt.Sprint(runtime.NumCPU() * 1000),
		"COMBINED":                "envpod@127.0.201.3:6443",
	}
	for k, v := range want {
		if got, ok := e.get(k); !ok || got != v {
			t.Errorf("env %s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	if _, ok := e.get("MISSING"); ok {
		t.Errorf("optional missing ConfigMap key is set")
	}
	wantArgs := []string{testServer, "serve", "hello-envpod", "$(GREETING)", "$(NOPE)"}
	if !slices.Equal(e.Args, wantArgs) {
		t.Errorf("argv %q, want %q", e.Args, wantArgs)
	}
	if e.Cwd != "/tmp" {
		t.Errorf("cwd %q", e.Cwd)
	}
}

// A missing required ConfigMap keeps the container waiting with
// CreateContainerConfigError until it appears.
func TestMissingConfigMapIsRetried(t *testing.T) {
	t.Parallel()
	cl := &fakeCluster{}
	cfg := testConfig(t, cl)
	p := start(t, cfg, testPod("late-cm", func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "late"}, Key: "x"}}}}
	}), "127.0.201.4")
	poll.Until(t, waitLong, "CreateContainerConfigError for the missing ConfigMap", func() string {
		w := p.Status().ContainerStatuses[0].State.Waiting
		if w == nil || w.Reason != "CreateContainerConfigError" || !strings.Contains(w.Message, "late") {
			return fmt.Sprintf("state %+v", p.Status().ContainerStatuses[0].State)
		}
		return ""
	})
	cl.setConfigMap(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "late"}, Data: map[string]string{"x": "arrived"}})
	if v, _ := fetchEnv(t, "http://127.0.201.4:8080").get("X"); v != "arrived" {
		t.Errorf("X = %q", v)
	}
	if rc := p.Status().ContainerStatuses[0].RestartCount; rc != 0 {
		t.Errorf("restartCount %d: a config error is not a restart", rc)
	}
}

// A volume whose ConfigMap is missing keeps the Pod ContainerCreating, saying
// why, until it appears.
func TestMissingConfigMapVolumeIsRetried(t *testing.T) {
	t.Parallel()
	cl := &fakeCluster{}
	cfg := testConfig(t, cl)
	p := start(t, cfg, testPod("late-vol", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "late-vol"}}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: mountPoint("late-vol")}}
	}), "127.0.201.6")
	poll.Until(t, waitLong, "ContainerCreating for the missing ConfigMap volume", func() string {
		w := p.Status().ContainerStatuses[0].State.Waiting
		if w == nil || w.Reason != "ContainerCreating" || !strings.Contains(w.Message, `mounting volumes: volume "v": configmap "late-vol"`) {
			return fmt.Sprintf("state %+v", p.Status().ContainerStatuses[0].State)
		}
		return ""
	})
	cl.setConfigMap(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "late-vol"}, Data: map[string]string{"k": "v"}})
	if got := mustGet(t, "http://127.0.201.6:8080/file?path="+mountPoint("late-vol")+"/k"); got != "v" {
		t.Errorf("file %q", got)
	}
}

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// The projected volume the ServiceAccount admission plugin adds is where
// in-cluster client-go looks, inside the process only.
func TestVolumes(t *testing.T) {
	t.Parallel()
	cl := &fakeCluster{}
	cl.setConfigMap(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": "CA PEM"}})
	cl.setConfigMap(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "conf"}, Data: map[string]string{"a.yaml": "a: 1", "b.yaml": "b: 2"}})
	cfg := testConfig(t, cl)
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "from-host"), []byte("host file"), 0o644); err != nil {
		t.Fatal(err)
	}
	mountRoot := mountPoint("vols")
	pod := testPod("vols", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{
			{Name: "kube-api-access-x1", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				DefaultMode: new(int32(0o644)),
				Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: new(int64(3607))}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				},
			}}},
			{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}},
		}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
			{Name: "kube-api-access-x1", MountPath: saDir, ReadOnly: true},
			{Name: "conf", MountPath: mountRoot + "/conf"},
			{Name: "conf", MountPath: mountRoot + "/only-b.yaml", SubPath: "b.yaml"},
			{Name: "scratch", MountPath: mountRoot + "/scratch"},
			{Name: "scratch", MountPath: mountRoot + "/scratch-sub", SubPathExpr: "$(POD_NAME)"},
			{Name: "host", MountPath: mountRoot + "/host", ReadOnly: true},
		}
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
	})
	p := start(t, cfg, pod, "127.0.201.5")
	base := "http://127.0.201.5:8080"
	for path, want := range map[string]string{
		saDir + "/token":              "token-for-vols",
		saDir + "/ca.crt":             "CA PEM",
		saDir + "/namespace":          "ns1",
		mountRoot + "/conf/a.yaml":    "a: 1",
		mountRoot + "/only-b.yaml":    "b: 2",
		mountRoot + "/host/from-host": "host file",
	} {
		if got := mustGet(t, base+"/file?path="+path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if got := cl.tokenRequests(); !slices.Equal(got, []string{"/3607"}) {
		t.Errorf("token requests (audience/expiration) %q", got)
	}
	// Nothing of it is on the host, which only got the empty mount points.
	for _, path := range []string{saDir + "/token", mountRoot + "/conf/a.yaml"} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s exists on the host (%v)", path, err)
		}
	}
	// emptyDir is writable and lands in the Pod's directory; read-only mounts
	// are read-only; subPathExpr picks a sub-directory.
	mustGet(t, base+"/write?path="+mountRoot+"/scratch-sub/f")
	if _, err := os.Stat(filepath.Join(p.dir, "volumes", "scratch", "vols", "f")); err != nil {
		t.Errorf("subPathExpr write: %v", err)
	}
	for _, ro := range []string{saDir + "/x", mountRoot + "/conf/x", mountRoot + "/host/x"} {
		if code, body := get(base + "/write?path=" + ro); code != http.StatusInternalServerError || !strings.Contains(body, "read-only") {
			t.Errorf("write %s: %d %s, want a read-only error", ro, code, body)
		}
	}
}
