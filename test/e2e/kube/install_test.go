package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/freshetproj/freshet/test/internal/child"
)

// overlay is the kustomization the tests apply: config/default as it is,
// plus NATS JetStream, with what the process node needs patched in.
//
// The process node gives every Pod a network namespace of its own with
// nothing reachable from inside but the Pod's own loopback; Freshet's
// components must reach the API server, NATS and the function Pods, so
// they run with hostNetwork. Host ports are shared with everything else on
// the machine, so every port is one found free, and the namespace's Pod
// Security level is relaxed to privileged, which hostNetwork needs.
var overlay = template.Must(template.New("kustomization").Parse(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {{.Base}}
  - nats.yaml
patches:
  - target: {kind: Namespace, name: freshet-system}
    patch: |-
      - op: replace
        path: /metadata/labels/pod-security.kubernetes.io~1enforce
        value: privileged
  - target: {kind: Deployment, name: freshet-controller}
    patch: |-
      - op: add
        path: /spec/template/spec/hostNetwork
        value: true
      - op: replace
        path: /spec/template/spec/containers/0/args
        value:
          - --metrics-bind-address=127.0.0.1:{{.ControllerMetrics}}
          - --health-probe-bind-address=127.0.0.1:{{.ControllerHealth}}
          - --leader-elect=true
          - --activator-url=http://127.0.0.1:{{.Activator}}
      - op: replace
        path: /spec/template/spec/containers/0/ports
        value:
          - {name: metrics, containerPort: {{.ControllerMetrics}}, protocol: TCP}
          - {name: health, containerPort: {{.ControllerHealth}}, protocol: TCP}
  - target: {kind: Deployment, name: freshet-activator}
    patch: |-
      - op: add
        path: /spec/template/spec/hostNetwork
        value: true
      - op: replace
        path: /spec/template/spec/containers/0/env/0
        value: {name: NATS_URL, value: "nats://127.0.0.1:{{.NATS}}"}
      - op: replace
        path: /spec/template/spec/containers/0/env/1
        value: {name: FRESHET_ADDR, value: "127.0.0.1:{{.Activator}}"}
      - op: replace
        path: /spec/template/spec/containers/0/ports
        value:
          - {name: http, containerPort: {{.Activator}}, protocol: TCP}
`))

// natsManifest is a single JetStream server, as a Deployment on the node.
var natsManifest = template.Must(template.New("nats").Parse(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: nats
  namespace: freshet-system
  labels: {app.kubernetes.io/name: nats}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector:
    matchLabels: {app.kubernetes.io/name: nats}
  template:
    metadata:
      labels: {app.kubernetes.io/name: nats}
    spec:
      hostNetwork: true
      containers:
        - name: nats
          image: {{.Image}}
          args: [--jetstream, --store_dir=/data, --addr=127.0.0.1, --port={{.NATS}}, --server_name=nats]
          ports:
            - {name: client, containerPort: {{.NATS}}, protocol: TCP}
          readinessProbe:
            tcpSocket: {port: client}
            periodSeconds: 1
          volumeMounts:
            - {name: data, mountPath: /data}
      volumes:
        - name: data
          emptyDir: {}
`))

// install applies the overlay and waits until NATS, the controller and the
// activator are available.
func install() error {
	ports, err := child.FreePorts(4)
	if err != nil {
		return err
	}
	vals := struct {
		Base, Image                                    string
		Activator, ControllerHealth, ControllerMetrics int
		NATS                                           int
	}{
		// kustomize takes no absolute paths.
		Base:  "", // set below, relative to the overlay
		Image: natsImage,
		// The ports were free a moment ago; the tests' own servers bind
		// port 0, so nothing here takes them in between.
		Activator: ports[0], ControllerHealth: ports[1], ControllerMetrics: ports[2], NATS: ports[3],
	}
	dir := filepath.Join(env.dir, "overlay")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if vals.Base, err = filepath.Rel(dir, filepath.Join(env.root, "config", "default")); err != nil {
		return err
	}
	for name, tmpl := range map[string]*template.Template{"kustomization.yaml": overlay, "nats.yaml": natsManifest} {
		var b strings.Builder
		if err := tmpl.Execute(&b, vals); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	env.activator = fmt.Sprintf("http://127.0.0.1:%d", vals.Activator)

	if out, err := kubectlOut("apply", "-k", dir); err != nil {
		return fmt.Errorf("kubectl apply -k %s: %v\n%s", dir, err, out)
	}
	for _, d := range []string{"nats", "freshet-controller", "freshet-activator"} {
		out, err := kubectlOut("-n", "freshet-system", "rollout", "status", "deployment/"+d, "--timeout=3m")
		if err != nil {
			return fmt.Errorf("deployment %s never became available: %v\n%s\n%s", d, err, out, podReport("freshet-system"))
		}
	}
	return nil
}

// podReport describes the Pods of namespace and the tail of each
// container's log on the process node, for failure messages.
func podReport(namespace string) string {
	var b strings.Builder
	out, _ := kubectlOut("-n", namespace, "get", "pods", "-o", "wide")
	b.WriteString(out)
	logs, _ := filepath.Glob(filepath.Join(env.nodeDir, namespace+"_*", "logs", "*.log"))
	for _, l := range logs {
		fmt.Fprintf(&b, "--- %s\n%s\n", l, child.TailFile(l, 20))
	}
	return b.String()
}
