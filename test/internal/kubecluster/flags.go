package kubecluster

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Controllers are the kube-controller-manager controllers the cluster runs:
// what Deployments, Pods and namespaces need to behave as on a real
// cluster, and nothing that would need a kubelet, a cloud or volumes.
var Controllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"endpointslice-controller",
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"node-lifecycle-controller",
	// Puts the kube-root-ca.crt ConfigMap, which the kube-api-access
	// volume of every Pod projects, into every namespace.
	"root-ca-certificate-publisher-controller",
}

// ServiceClusterIPRange is the API server's Service CIDR. Nothing dials
// these addresses (there is no kube-proxy); Services just need one.
const ServiceClusterIPRange = "10.0.0.0/24"

// ServiceAccountIssuer is the issuer of service-account tokens.
const ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// layout is where one cluster's files are and which ports it uses.
type layout struct {
	dir                                   string
	etcdClientPort, etcdPeerPort          int
	apiServerPort, kcmPort, schedulerPort int
}

func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.dir}, elem...)...)
}

func (l layout) caFile() string          { return l.path("pki", "ca.crt") }
func (l layout) servingCertFile() string { return l.path("pki", "serving.crt") }
func (l layout) servingKeyFile() string  { return l.path("pki", "serving.key") }
func (l layout) saKeyFile() string       { return l.path("pki", "sa.key") }
func (l layout) saPubFile() string       { return l.path("pki", "sa.pub") }
func (l layout) tokenFile() string       { return l.path("pki", "tokens.csv") }
func (l layout) kubeconfig() string      { return l.path("kubeconfig") }
func (l layout) etcdDataDir() string     { return l.path("etcd") }
func (l layout) logFile(name string) string {
	return l.path("logs", name+".log")
}

func (l layout) etcdURL() string { return "http://127.0.0.1:" + strconv.Itoa(l.etcdClientPort) }

func (l layout) server() string { return "https://127.0.0.1:" + strconv.Itoa(l.apiServerPort) }

func etcdArgs(l layout) []string {
	peer := "http://127.0.0.1:" + strconv.Itoa(l.etcdPeerPort)
	return []string{
		"--name=kubecluster",
		"--data-dir=" + l.etcdDataDir(),
		"--listen-client-urls=" + l.etcdURL(),
		"--advertise-client-urls=" + l.etcdURL(),
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=kubecluster=" + peer,
		// A test cluster's data dies with it: no need to wait for the disk.
		"--unsafe-no-fsync",
		"--log-level=warn",
	}
}

func apiServerArgs(l layout) []string {
	return []string{
		"--etcd-servers=" + l.etcdURL(),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(l.apiServerPort),
		"--cert-dir=" + l.path("certs", "kube-apiserver"),
		"--tls-cert-file=" + l.servingCertFile(),
		"--tls-private-key-file=" + l.servingKeyFile(),
		"--client-ca-file=" + l.caFile(),
		"--token-auth-file=" + l.tokenFile(),
		// Without a request-header CA, the controller manager and the
		// scheduler, which read the API server's authentication settings
		// for their own endpoints, log an error many times a second while
		// they start. No front-proxy-client certificate is ever issued.
		"--requestheader-client-ca-file=" + l.caFile(),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-account-key-file=" + l.saPubFile(),
		"--service-account-signing-key-file=" + l.saKeyFile(),
		"--service-cluster-ip-range=" + ServiceClusterIPRange,
		"--allow-privileged=true",
		// The endpoint reconciler would publish the advertise address,
		// 127.0.0.1, as the endpoint of the `kubernetes` Service, and
		// loopback addresses are not valid endpoints.
		"--endpoint-reconciler-type=none",
		// The default admission plugins stay on, ServiceAccount among them,
		// so Pods get their kube-api-access volume as on any cluster.
	}
}

// controllerManagerArgs runs Controllers; nodeGrace is how long a Node may
// go without a heartbeat before it is marked NotReady.
func controllerManagerArgs(l layout, nodeGrace time.Duration) []string {
	return []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--authentication-kubeconfig=" + l.kubeconfig(),
		"--authorization-kubeconfig=" + l.kubeconfig(),
		"--controllers=" + strings.Join(Controllers, ","),
		"--root-ca-file=" + l.caFile(),
		"--service-account-private-key-file=" + l.saKeyFile(),
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(l.kcmPort),
		"--cert-dir=" + l.path("certs", "kube-controller-manager"),
		"--tls-cert-file=" + l.servingCertFile(),
		"--tls-private-key-file=" + l.servingKeyFile(),
		"--node-monitor-period=2s",
		"--node-monitor-grace-period=" + nodeGrace.String(),
		"--node-startup-grace-period=" + nodeGrace.String(),
	}
}

func schedulerArgs(l layout) []string {
	return []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--authentication-kubeconfig=" + l.kubeconfig(),
		"--authorization-kubeconfig=" + l.kubeconfig(),
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(l.schedulerPort),
		"--cert-dir=" + l.path("certs", "kube-scheduler"),
		"--tls-cert-file=" + l.servingCertFile(),
		"--tls-private-key-file=" + l.servingKeyFile(),
	}
}

// tokenFileLine is the API server's --token-auth-file entry for the admin:
// token,user,uid,"groups".
func tokenFileLine(token string) string {
	return fmt.Sprintf("%s,%s,%s,\"system:masters\"\n", token, AdminUser, AdminUser)
}
