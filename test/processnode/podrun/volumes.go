package podrun

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// volume is a materialized volume: a host path to bind-mount.
type volume struct {
	path string
	// readOnly is forced for configMap, secret, downwardAPI and projected
	// volumes, as the kubelet mounts them.
	readOnly bool
}

// volumeFile is one file of a configMap, secret, downwardAPI or projected
// volume, relative to the volume's directory.
type volumeFile struct {
	path string
	data []byte
	mode os.FileMode
}

// defaultFileMode is the defaultMode of configMap, secret, downwardAPI and
// projected volumes (0644).
const defaultFileMode = 0o644

// setupVolumes materializes every volume of the Pod under dir.
func (p *Pod) setupVolumes(ctx context.Context) (map[string]volume, error) {
	vols := make(map[string]volume, len(p.pod.Spec.Volumes))
	for _, v := range p.pod.Spec.Volumes {
		dir := filepath.Join(p.dir, "volumes", v.Name)
		switch {
		case v.HostPath != nil:
			if err := prepareHostPath(v.HostPath); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			vols[v.Name] = volume{path: v.HostPath.Path}
			continue
		case v.EmptyDir != nil:
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			vols[v.Name] = volume{path: dir}
			continue
		}
		files, err := p.volumeFiles(ctx, v.VolumeSource)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		if err := writeVolume(dir, files); err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		vols[v.Name] = volume{path: dir, readOnly: true}
	}
	return vols, nil
}

func prepareHostPath(hp *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	switch t {
	case corev1.HostPathDirectoryOrCreate:
		return os.MkdirAll(hp.Path, 0o755)
	case corev1.HostPathFileOrCreate:
		if err := os.MkdirAll(filepath.Dir(hp.Path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(hp.Path, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return err
		}
		return f.Close()
	case corev1.HostPathUnset:
		// The shim needs something to bind: like a kubelet on containerd,
		// which creates a missing unset-type hostPath as a directory.
		return os.MkdirAll(hp.Path, 0o755)
	}
	_, err := os.Stat(hp.Path)
	return err
}

// volumeFiles lists the files of a configMap, secret, downwardAPI or
// projected volume.
func (p *Pod) volumeFiles(ctx context.Context, src corev1.VolumeSource) ([]volumeFile, error) {
	switch {
	case src.ConfigMap != nil:
		return p.configMapFiles(ctx, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, fileMode(src.ConfigMap.DefaultMode))
	case src.Secret != nil:
		return p.secretFiles(ctx, src.Secret.SecretName, src.Secret.Items, src.Secret.Optional, fileMode(src.Secret.DefaultMode))
	case src.DownwardAPI != nil:
		return p.downwardAPIFiles(src.DownwardAPI.Items, fileMode(src.DownwardAPI.DefaultMode))
	case src.Projected != nil:
		return p.projectedFiles(ctx, src.Projected)
	}
	return nil, fmt.Errorf("unsupported volume type (podrun supports emptyDir, configMap, secret, downwardAPI, projected, hostPath)")
}

func (p *Pod) projectedFiles(ctx context.Context, src *corev1.ProjectedVolumeSource) ([]volumeFile, error) {
	mode := fileMode(src.DefaultMode)
	var files []volumeFile
	for _, s := range src.Sources {
		var (
			fs  []volumeFile
			err error
		)
		switch {
		case s.ServiceAccountToken != nil:
			fs, err = p.tokenFile(ctx, s.ServiceAccountToken, mode)
		case s.ConfigMap != nil:
			fs, err = p.configMapFiles(ctx, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, mode)
		case s.Secret != nil:
			fs, err = p.secretFiles(ctx, s.Secret.Name, s.Secret.Items, s.Secret.Optional, mode)
		case s.DownwardAPI != nil:
			fs, err = p.downwardAPIFiles(s.DownwardAPI.Items, mode)
		default:
			err = fmt.Errorf("unsupported projected source (podrun supports serviceAccountToken, configMap, secret, downwardAPI)")
		}
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

func (p *Pod) tokenFile(ctx context.Context, src *corev1.ServiceAccountTokenProjection, mode os.FileMode) ([]volumeFile, error) {
	exp := int64(3600)
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	tok, err := p.cfg.Cluster.Token(ctx, p.pod, src.Audience, exp)
	if err != nil {
		return nil, fmt.Errorf("service account token: %w", err)
	}
	return []volumeFile{{path: src.Path, data: []byte(tok), mode: mode}}, nil
}

func (p *Pod) configMapFiles(ctx context.Context, name string, items []corev1.KeyToPath, optional *bool, mode os.FileMode) ([]volumeFile, error) {
	text, binary, found, err := configMapData(ctx, p.cfg.Cluster, p.pod.Namespace, name, optional)
	if err != nil || !found {
		return nil, err
	}
	data := make(map[string][]byte, len(text)+len(binary))
	for k, v := range text {
		data[k] = []byte(v)
	}
	maps.Copy(data, binary)
	return keyFiles(data, items, optional, mode, "configmap "+name)
}

func (p *Pod) secretFiles(ctx context.Context, name string, items []corev1.KeyToPath, optional *bool, mode os.FileMode) ([]volumeFile, error) {
	data, found, err := secretData(ctx, p.cfg.Cluster, p.pod.Namespace, name, optional)
	if err != nil || !found {
		return nil, err
	}
	return keyFiles(data, items, optional, mode, "secret "+name)
}

// keyFiles maps the keys of a ConfigMap or Secret to files: every key as
// its own name, or only items (key → path, optional mode).
func keyFiles(data map[string][]byte, items []corev1.KeyToPath, optional *bool, mode os.FileMode, what string) ([]volumeFile, error) {
	var files []volumeFile
	if len(items) == 0 {
		for k, v := range data {
			files = append(files, volumeFile{path: k, data: v, mode: mode})
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if ptrTrue(optional) {
				continue
			}
			return nil, fmt.Errorf("%s has no key %q", what, it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		files = append(files, volumeFile{path: it.Path, data: v, mode: m})
	}
	return files, nil
}

func (p *Pod) downwardAPIFiles(items []corev1.DownwardAPIVolumeFile, mode os.FileMode) ([]volumeFile, error) {
	var files []volumeFile
	for _, it := range items {
		var (
			v   string
			err error
		)
		switch {
		case it.FieldRef != nil:
			v, err = fieldRefValue(p.facts(), it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			c := p.container(it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, fmt.Errorf("downwardAPI %s: no container %q", it.Path, it.ResourceFieldRef.ContainerName)
			}
			v, err = resourceFieldValue(c, p.cfg.Allocatable, it.ResourceFieldRef)
		}
		if err != nil {
			return nil, fmt.Errorf("downwardAPI %s: %w", it.Path, err)
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		files = append(files, volumeFile{path: it.Path, data: []byte(v), mode: m})
	}
	return files, nil
}

func fileMode(m *int32) os.FileMode {
	if m == nil {
		return defaultFileMode
	}
	return os.FileMode(*m) & os.ModePerm
}

// writeVolume writes files under dir, which it creates.
func writeVolume(dir string, files []volumeFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		rel, err := relativePath(f.path)
		if err != nil {
			return err
		}
		full := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(full, f.mode); err != nil { // WriteFile's mode is subject to the umask
			return err
		}
	}
	return nil
}

// relativePath checks that p stays inside the directory it is relative to.
func relativePath(p string) (string, error) {
	if p == "" || path.IsAbs(p) {
		return "", fmt.Errorf("path %q must be relative", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", fmt.Errorf("path %q must not contain '..'", p)
		}
	}
	return filepath.Clean(p), nil
}

// containerMounts is what the shim mounts for c: each volumeMount's volume
// (or its subPath, created when missing like the kubelet does) at its
// mountPath. subPathExpr is expanded with the container's environment.
func containerMounts(c *corev1.Container, vols map[string]volume, vars map[string]string) ([]shimMount, error) {
	var ms []shimMount
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %q: no such volume", vm.Name)
		}
		if !path.IsAbs(vm.MountPath) {
			return nil, fmt.Errorf("volumeMount %q: mountPath %q is not absolute", vm.Name, vm.MountPath)
		}
		src := v.path
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expand(vm.SubPathExpr, vars)
		}
		if sub != "" {
			rel, err := relativePath(sub)
			if err != nil {
				return nil, fmt.Errorf("volumeMount %q: subPath: %w", vm.Name, err)
			}
			src = filepath.Join(src, rel)
		}
		ms = append(ms, shimMount{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly || v.readOnly})
	}
	return ms, nil
}

// ensureSubPaths creates missing subPath directories in writable volumes.
func ensureSubPaths(ms []shimMount) error {
	for _, m := range ms {
		if _, err := os.Stat(m.Source); os.IsNotExist(err) && !m.ReadOnly {
			if err := os.MkdirAll(m.Source, 0o755); err != nil {
				return err
			}
		}
	}
	return nil
}
