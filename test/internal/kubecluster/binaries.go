package kubecluster

import (
	"sync"

	"github.com/freshetproj/freshet/test/internal/child"
)

// Binaries are the programs a cluster needs in its binaries directory.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"}

var binaries struct {
	once sync.Once
	dir  string
	err  error
}

// BinDir returns the directory holding Binaries: KUBEBUILDER_ASSETS if it
// has all of them, or else the directory hack/test-binaries.sh prints,
// building them first if they are not cached (see child.KubeBinaries). A
// KUBEBUILDER_ASSETS made for envtest may hold only etcd, kube-apiserver
// and kubectl. The result is computed once per process.
func BinDir() (string, error) {
	binaries.once.Do(func() { binaries.dir, binaries.err = child.KubeBinaries("kubecluster", Binaries) })
	return binaries.dir, binaries.err
}
