package podrun

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// defaultPath is the PATH a container gets when neither its image nor its
// spec sets one (Docker's default).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// envVar is one NAME=value of a process environment.
type envVar struct{ name, value string }

// envList is an environment in which a later value for a name replaces the
// earlier one in place, so the order stays stable.
type envList []envVar

func (l envList) set(name, value string) envList {
	if i := slices.IndexFunc(l, func(e envVar) bool { return e.name == name }); i >= 0 {
		l[i].value = value
		return l
	}
	return append(l, envVar{name, value})
}

func (l envList) environ() []string {
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.name + "=" + e.value
	}
	return out
}

func (l envList) lookup(name string) (string, bool) {
	for _, e := range l {
		if e.name == name {
			return e.value, true
		}
	}
	return "", false
}

// serviceEnv is what the kubelet adds for the "kubernetes" Service, pointing
// straight at the API server.
func serviceEnv(apiServer string) envList {
	host, port, err := net.SplitHostPort(apiServer)
	if err != nil {
		return nil
	}
	url := "tcp://" + net.JoinHostPort(host, port)
	prefix := "KUBERNETES_PORT_" + port + "_TCP"
	return envList{
		{"KUBERNETES_SERVICE_HOST", host},
		{"KUBERNETES_SERVICE_PORT", port},
		{"KUBERNETES_SERVICE_PORT_HTTPS", port},
		{"KUBERNETES_PORT", url},
		{prefix, url},
		{prefix + "_PROTO", "tcp"},
		{prefix + "_PORT", port},
		{prefix + "_ADDR", host},
	}
}

// podFacts is what fieldRef and resourceFieldRef may refer to.
type podFacts struct {
	pod         *corev1.Pod
	podIP       string
	hostIP      string
	nodeName    string
	allocatable corev1.ResourceList
}

// containerEnv resolves the environment the kubelet passes for c (envFrom,
// then env, then the KUBERNETES_* service variables unless c sets them),
// expanding $(VAR) in values against what is defined before them.
func containerEnv(ctx context.Context, f podFacts, c *corev1.Container, objs objects, apiServer string) (envList, error) {
	ns := f.pod.Namespace
	svc := serviceEnv(apiServer)
	var env envList
	// vars is what $(VAR) may refer to: the service variables and, over
	// them, what env holds so far (so only variables defined earlier).
	vars := svc.vars()
	set := func(name, value string) {
		env = env.set(name, value)
		vars[name] = value
	}
	for _, from := range c.EnvFrom {
		data, err := envFromData(ctx, objs, ns, from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := from.Prefix + k
			if len(validation.IsEnvVarName(name)) > 0 {
				continue // the kubelet skips such keys too (and records an event)
			}
			set(name, data[k])
		}
	}
	for _, e := range c.Env {
		var value string
		switch {
		case e.Value != "":
			value = expand(e.Value, vars)
		case e.ValueFrom != nil:
			v, ok, err := envValueFrom(ctx, f, c, objs, e.ValueFrom)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			if !ok {
				continue // optional and missing: not set at all
			}
			value = v
		}
		set(e.Name, value)
	}
	for _, e := range svc {
		if _, ok := env.lookup(e.name); !ok {
			env = append(env, e)
		}
	}
	return env, nil
}

func envFromData(ctx context.Context, objs objects, ns string, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		data, _, _, err := configMapData(ctx, objs, ns, from.ConfigMapRef.Name, from.ConfigMapRef.Optional)
		if err != nil {
			return nil, fmt.Errorf("envFrom %w", err)
		}
		return data, nil
	case from.SecretRef != nil:
		raw, _, err := secretData(ctx, objs, ns, from.SecretRef.Name, from.SecretRef.Optional)
		if err != nil {
			return nil, fmt.Errorf("envFrom %w", err)
		}
		data := make(map[string]string, len(raw))
		for k, v := range raw {
			data[k] = string(v)
		}
		return data, nil
	}
	return nil, nil
}

// envValueFrom resolves one valueFrom; ok is false for an optional reference
// that does not resolve.
func envValueFrom(ctx context.Context, f podFacts, c *corev1.Container, objs objects, src *corev1.EnvVarSource) (value string, ok bool, err error) {
	switch {
	case src.FieldRef != nil:
		v, err := fieldRefValue(f, src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := resourceFieldValue(c, f.allocatable, src.ResourceFieldRef)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		data, _, found, err := configMapData(ctx, objs, f.pod.Namespace, ref.Name, ref.Optional)
		if err != nil || !found {
			return "", false, err
		}
		v, found := data[ref.Key]
		if !found {
			if ptrTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, f.pod.Namespace, ref.Name)
		}
		return v, true, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		data, found, err := secretData(ctx, objs, f.pod.Namespace, ref.Name, ref.Optional)
		if err != nil || !found {
			return "", false, err
		}
		v, found := data[ref.Key]
		if !found {
			if ptrTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, f.pod.Namespace, ref.Name)
		}
		return string(v), true, nil
	}
	return "", false, fmt.Errorf("unsupported valueFrom")
}

// processEnv is the whole environment of a container's process, as a
// container runtime assembles it: a default PATH and HOSTNAME, then the
// image's Env, then what the kubelet resolved (containerEnv).
func processEnv(podName string, img Image, kubelet envList) envList {
	env := envList{{"PATH", defaultPath}, {"HOSTNAME", podName}}
	for _, kv := range img.Env {
		name, value, _ := strings.Cut(kv, "=")
		env = env.set(name, value)
	}
	for _, e := range kubelet {
		env = env.set(e.name, e.value)
	}
	return env
}

// containerArgv is the argv of c's process: the Kubernetes rules for
// command/args over the image's entrypoint/cmd, with $(VAR) expanded in
// command and args (not in the image's parts).
func containerArgv(c *corev1.Container, img Image, vars map[string]string) ([]string, error) {
	var argv []string
	if len(c.Command) > 0 {
		for _, s := range c.Command {
			argv = append(argv, expand(s, vars))
		}
	} else {
		argv = append(argv, img.Entrypoint...)
	}
	switch {
	case len(c.Args) > 0:
		for _, s := range c.Args {
			argv = append(argv, expand(s, vars))
		}
	case len(c.Command) == 0:
		argv = append(argv, img.Cmd...)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command specified")
	}
	return argv, nil
}

// workingDir is c's working directory: its own, else the image's, else "/".
func workingDir(c *corev1.Container, img Image) string {
	switch {
	case c.WorkingDir != "":
		return c.WorkingDir
	case img.WorkingDir != "":
		return img.WorkingDir
	}
	return "/"
}

func (l envList) vars() map[string]string {
	m := make(map[string]string, len(l))
	for _, e := range l {
		m[e.name] = e.value
	}
	return m
}
