package podrun

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestContainerMounts(t *testing.T) {
	vols := map[string]volume{
		"data": {path: "/pods/p/volumes/data"},
		"conf": {path: "/pods/p/volumes/conf", readOnly: true},
	}
	vars := map[string]string{"POD": "p1"}
	for _, tc := range []struct {
		name    string
		mounts  []corev1.VolumeMount
		want    []shimMount
		wantErr string
	}{{
		name: "plain, subPath, subPathExpr, readOnly",
		mounts: []corev1.VolumeMount{
			{Name: "data", MountPath: "/data"},
			{Name: "data", MountPath: "/logs", SubPath: "a/b", ReadOnly: true},
			{Name: "data", MountPath: "/per-pod", SubPathExpr: "$(POD)/x"},
			{Name: "conf", MountPath: "/etc/app.yaml", SubPath: "app.yaml"},
		},
		want: []shimMount{
			{Source: "/pods/p/volumes/data", Target: "/data"},
			{Source: "/pods/p/volumes/data/a/b", Target: "/logs", ReadOnly: true},
			{Source: "/pods/p/volumes/data/p1/x", Target: "/per-pod"},
			{Source: "/pods/p/volumes/conf/app.yaml", Target: "/etc/app.yaml", ReadOnly: true},
		},
	}, {
		name:    "unknown volume",
		mounts:  []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}},
		wantErr: "no such volume",
	}, {
		name:    "relative mountPath",
		mounts:  []corev1.VolumeMount{{Name: "data", MountPath: "x"}},
		wantErr: "not absolute",
	}, {
		name:    "subPath escaping",
		mounts:  []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "../../etc"}},
		wantErr: "'..'",
	}, {
		name:    "absolute subPath",
		mounts:  []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "/etc"}},
		wantErr: "must be relative",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := containerMounts(&corev1.Container{VolumeMounts: tc.mounts}, vols, vars)
			if failedAsWanted(t, err, tc.wantErr) {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSortMountsParentsFirst(t *testing.T) {
	got := sortMounts([]shimMount{{Target: "/a/b/c"}, {Target: "/a"}, {Target: "/z/y"}, {Target: "/a/b"}})
	var targets []string
	for _, m := range got {
		targets = append(targets, m.Target)
	}
	if want := []string{"/a", "/z/y", "/a/b", "/a/b/c"}; !slices.Equal(targets, want) {
		t.Errorf("order %q, want %q", targets, want)
	}
}

func TestKeyFiles(t *testing.T) {
	data := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	files, err := keyFiles(data, []corev1.KeyToPath{{Key: "a", Path: "dir/a.txt", Mode: new(int32(0o600))}, {Key: "zz", Path: "zz"}}, new(true), 0o644, "cm")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].path != "dir/a.txt" || files[0].mode != 0o600 || string(files[0].data) != "1" {
		t.Errorf("items: %+v", files)
	}
	if _, err := keyFiles(data, []corev1.KeyToPath{{Key: "zz", Path: "zz"}}, nil, 0o644, "cm"); err == nil {
		t.Error("a missing required key is not an error")
	}
	files, _ = keyFiles(data, nil, nil, 0o640, "cm")
	if len(files) != 2 || files[0].mode != 0o640 {
		t.Errorf("all keys: %+v", files)
	}
}

func TestLookPath(t *testing.T) {
	if p, err := lookPath("sh", "/nonexistent:/bin:/usr/bin"); err != nil || !strings.HasSuffix(p, "/sh") {
		t.Errorf("sh: %q %v", p, err)
	}
	if _, err := lookPath("sh", "/nonexistent"); err == nil || !strings.Contains(err.Error(), "not found in $PATH") {
		t.Errorf("not found: %v", err)
	}
	if p, _ := lookPath("./x", ""); p != "./x" {
		t.Errorf("with slash: %q", p)
	}
}
