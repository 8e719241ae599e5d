package nodetest

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// EchoPackage is the import path of the echo server, for Main.
const EchoPackage = "github.com/freshetproj/freshet/test/processnode/internal/echoserver"

// EchoImage is the image name the tests map to the echo server.
const EchoImage = "example.com/echo:1"

// EchoPod is a pod on nodeName running EchoImage on port 8080, told its
// name and IP by fieldRefs, and ready when it answers /healthz.
func EchoPod(namespace, name, nodeName string) *corev1.Pod {
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.PodSpec{
			NodeName:                      nodeName,
			TerminationGracePeriodSeconds: ptr.To[int64](60),
			Containers: []corev1.Container{{
				Name:  "echo",
				Image: EchoImage,
				Env: []corev1.EnvVar{
					{Name: "PORT", Value: "8080"},
					fieldEnv("POD_NAME", "metadata.name"),
					fieldEnv("POD_IP", "status.podIP"),
				},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
}

// HostEchoPod is EchoPod in the node's network namespace (hostNetwork),
// serving and probed on port, which must be free on the node's IP.
func HostEchoPod(namespace, name, nodeName string, port int) *corev1.Pod {
	pod := EchoPod(namespace, name, nodeName)
	pod.Spec.HostNetwork = true
	c := &pod.Spec.Containers[0]
	c.Env[0].Value = strconv.Itoa(port) // PORT
	c.Ports[0].ContainerPort = int32(port)
	c.ReadinessProbe.HTTPGet.Port = intstr.FromInt(port)
	return pod
}

// Echo is what an echo server says of itself.
type Echo struct {
	Name, IP, Hostname string // $POD_NAME, $POD_IP, $HOSTNAME
	PID                int
}

// AskEcho asks the echo server of pod, at its pod IP and port, who it is,
// and checks that it knows its own name and IP (from EchoPod's fieldRefs).
func AskEcho(t testing.TB, pod *corev1.Pod, port int) Echo {
	t.Helper()
	body, err := Get(fmt.Sprintf("http://%s:%d/", pod.Status.PodIP, port))
	if err != nil {
		t.Fatalf("pod %s at %s: %v", pod.Name, pod.Status.PodIP, err)
	}
	e, err := parseEcho(body)
	if err != nil {
		t.Fatalf("pod %s answered %q: %v", pod.Name, body, err)
	}
	if e.Name != pod.Name || e.IP != pod.Status.PodIP {
		t.Errorf("pod %s at %s answered %q: want its own name and IP (from fieldRefs)", pod.Name, pod.Status.PodIP, body)
	}
	return e
}

// parseEcho reads the echo server's "name=… ip=… hostname=… pid=…".
func parseEcho(body string) (Echo, error) {
	fields := map[string]string{}
	for _, kv := range strings.Fields(body) {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	pid, err := strconv.Atoi(fields["pid"])
	if err != nil {
		return Echo{}, fmt.Errorf("no pid: %w", err)
	}
	return Echo{Name: fields["name"], IP: fields["ip"], Hostname: fields["hostname"], PID: pid}, nil
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// Get returns the body of GET url, or an error unless it answers 200.
func Get(url string) (string, error) {
	res, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, res.Status, body)
	}
	return string(body), err
}
