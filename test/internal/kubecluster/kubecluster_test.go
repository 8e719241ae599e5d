package kubecluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/freshetproj/freshet/test/internal/kubecluster"
)

// deadline is generous: two busy cores.
const deadline = 45 * time.Second

// deployment has terminationGracePeriodSeconds 0 because there is no
// kubelet to confirm that a bound Pod has stopped: with a grace period the
// API server would keep deleted Pods until it expired.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: web
        image: registry.invalid/web:1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
`

// TestClusterRunsControllersAndScheduler proves each part of the control
// plane works: the controllers turn a Deployment into a ReplicaSet and
// Pods, the scheduler binds them to a Node, admission gives them their
// service-account volume, and deleting things really deletes them.
func TestClusterRunsControllersAndScheduler(t *testing.T) {
	began := time.Now()
	c := kubecluster.Start(t, kubecluster.Options{})
	t.Logf("control plane ready in %v at %s (files in %s)", time.Since(began).Round(time.Millisecond), c.Server, c.Dir)
	if !strings.HasPrefix(c.Server, "https://127.0.0.1:") {
		t.Errorf("Server %q, want https://127.0.0.1:<port>", c.Server)
	}
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	failed := func(format string, args ...any) {
		t.Helper()
		if err := c.Check(); err != nil {
			t.Errorf("the control plane is down: %v", err)
		}
		t.Fatalf(format, args...)
	}

	node := readyNode("node-1")
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	ns, err := cs.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kubecluster-test-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// serviceaccount and root-ca-certificate-publisher controllers.
	if err := poll(ctx, func() error {
		if _, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return err
		}
		cm, err := cs.CoreV1().ConfigMaps(ns.Name).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := cm.Data["ca.crt"]; got != string(c.CAPEM) {
			return fmt.Errorf("kube-root-ca.crt holds %q, not the cluster's CA", got)
		}
		return nil
	}); err != nil {
		failed("namespace %s was not set up: %v", ns.Name, err)
	}

	manifest := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(manifest, []byte(deployment), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Kubectl(ctx, "apply", "-n", ns.Name, "-f", manifest); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "deployment.apps/web created") {
		t.Errorf("kubectl apply said %q", out)
	}

	// deployment and replicaset controllers, then the scheduler.
	var pods []corev1.Pod
	if err := poll(ctx, func() error {
		rss, err := cs.AppsV1().ReplicaSets(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		if len(rss.Items) != 1 || !ownedBy(rss.Items[0].OwnerReferences, "Deployment", "web") {
			return fmt.Errorf("want 1 ReplicaSet owned by Deployment web, have %d", len(rss.Items))
		}
		list, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		if len(list.Items) != 2 {
			return fmt.Errorf("want 2 Pods, have %d", len(list.Items))
		}
		for _, p := range list.Items {
			if p.Spec.NodeName != node.Name {
				return fmt.Errorf("Pod %s is bound to %q, want %s", p.Name, p.Spec.NodeName, node.Name)
			}
		}
		pods = list.Items
		return nil
	}); err != nil {
		failed("Deployment web did not get 2 scheduled Pods: %v", err)
	}

	// ServiceAccount admission.
	for _, p := range pods {
		if err := hasKubeAPIAccess(p); err != nil {
			t.Errorf("Pod %s: %v", p.Name, err)
		}
	}

	// endpointslice controller.
	if err := poll(ctx, func() error {
		slices, err := cs.DiscoveryV1().EndpointSlices(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err != nil {
			return err
		}
		if len(slices.Items) == 0 {
			return fmt.Errorf("no EndpointSlice for Service web")
		}
		return nil
	}); err != nil {
		failed("%v", err)
	}

	// garbage collector: the Deployment's dependents go with it.
	if _, err := c.Kubectl(ctx, "delete", "-n", ns.Name, "deployment", "web", "--wait=false"); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, func() error {
		rss, err := cs.AppsV1().ReplicaSets(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		list, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if n, m := len(rss.Items), len(list.Items); n+m > 0 {
			return fmt.Errorf("%d ReplicaSets and %d Pods left", n, m)
		}
		return nil
	}); err != nil {
		failed("the Deployment's dependents were not collected: %v", err)
	}

	// namespace controller: the namespace and what is left in it go.
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, func() error {
		got, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("namespace %s is still %s", ns.Name, got.Status.Phase)
	}); err != nil {
		failed("%v", err)
	}
	t.Logf("test done in %v", time.Since(began).Round(time.Millisecond))
}

// readyNode is a Node as a kubelet would register it: Ready, with room
// for Pods, no taints.
func readyNode(name string) *corev1.Node {
	now := metav1.Now()
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources,
			Conditions: []corev1.NodeCondition{{
				Type:               corev1.NodeReady,
				Status:             corev1.ConditionTrue,
				Reason:             "KubeletReady",
				LastHeartbeatTime:  now,
				LastTransitionTime: now,
			}},
		},
	}
}

func ownedBy(refs []metav1.OwnerReference, kind, name string) bool {
	for _, r := range refs {
		if r.Kind == kind && r.Name == name && r.Controller != nil && *r.Controller {
			return true
		}
	}
	return false
}

// hasKubeAPIAccess checks for the projected volume the ServiceAccount
// admission plugin adds: a token, the cluster CA and the namespace.
func hasKubeAPIAccess(p corev1.Pod) error {
	if p.Spec.ServiceAccountName != "default" {
		return fmt.Errorf("service account %q, want default", p.Spec.ServiceAccountName)
	}
	for _, v := range p.Spec.Volumes {
		if !strings.HasPrefix(v.Name, "kube-api-access-") || v.Projected == nil {
			continue
		}
		var token, ca bool
		for _, s := range v.Projected.Sources {
			token = token || s.ServiceAccountToken != nil
			ca = ca || (s.ConfigMap != nil && s.ConfigMap.Name == "kube-root-ca.crt")
		}
		if !token || !ca {
			return fmt.Errorf("volume %s lacks the token or kube-root-ca.crt: %+v", v.Name, v.Projected.Sources)
		}
		for _, m := range p.Spec.Containers[0].VolumeMounts {
			if m.Name == v.Name && m.MountPath == "/var/run/secrets/kubernetes.io/serviceaccount" {
				return nil
			}
		}
		return fmt.Errorf("volume %s is not mounted at /var/run/secrets/kubernetes.io/serviceaccount", v.Name)
	}
	return fmt.Errorf("no kube-api-access projected volume in %+v", p.Spec.Volumes)
}

// poll calls check every 100ms until it returns nil or deadline passes,
// returning its last error.
func poll(ctx context.Context, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %v: %w", deadline, err)
		case <-tick.C:
		}
	}
}

// TestStartFailureKeepsLogs: a control plane that cannot start is reported
// with the failing component's log, and its files are kept for a look.
func TestStartFailureKeepsLogs(t *testing.T) {
	_, err := kubecluster.New(t.Context(), kubecluster.Options{APIServerArgs: []string{"--no-such-flag"}})
	if err == nil {
		t.Fatal("New succeeded with an API server flag that does not exist")
	}
	m := regexp.MustCompile(`files and logs are kept in (\S+)\)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("the error does not say where the logs are: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(m[1]) })
	for _, want := range []string{"kube-apiserver", "unknown flag: --no-such-flag"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(m[1], "logs", "kube-apiserver.log")); err != nil {
		t.Errorf("the API server's log was not kept: %v", err)
	}
}
