package child

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
)

// KubectlCmd returns a command running the kubectl at path against the
// cluster of kubeconfig with args, keeping kubectl's discovery cache in
// dir/kubectl-cache rather than the user's home.
func KubectlCmd(ctx context.Context, path, kubeconfig, dir string, args ...string) *exec.Cmd {
	all := append([]string{"--kubeconfig=" + kubeconfig, "--cache-dir=" + filepath.Join(dir, "kubectl-cache")}, args...)
	cmd := exec.CommandContext(ctx, path, all...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	return cmd
}
