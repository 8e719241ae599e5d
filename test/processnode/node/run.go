// Package node is a Kubernetes node agent for tests and development: it
// registers a Node with a real control plane and runs every Pod bound to
// it as local processes (package podrun), each with a loopback IP of its
// own (127.0.x.y). It is built on virtual-kubelet's node package, which
// registers the Node, renews its Lease, watches the node's Pods and writes
// their status; this package is the provider that runs them.
//
// There are no images and no isolation beyond a network and mount
// namespace per pod: containers run as the node's user (usually root)
// with the programs that Options.Images maps their images to. Never use
// it for anything but tests and trying things out on one machine.
package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	vknode "github.com/virtual-kubelet/virtual-kubelet/node"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/freshetproj/freshet/test/processnode/podrun"
)

// informerResync makes virtual-kubelet look at every pod again now and
// then, which repairs a status write it skipped in a race.
const informerResync = time.Minute

// Run registers the node and runs the pods bound to it until ctx ends;
// then it stops every pod (Options.ShutdownGrace) and returns once their
// processes are gone. The Node object stays behind, as a stopped kubelet's
// does; the node-lifecycle controller marks it NotReady once its Lease
// expires. Run returns an error if the node cannot start or its
// controllers fail.
func Run(ctx context.Context, opts Options) error {
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	log := o.Log.With("node", o.NodeName)
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("process node: %w", err)
	}
	mach, err := thisMachine()
	if err != nil {
		return err
	}
	// Resolved once here rather than by podrun for every pod.
	shim, err := podrun.ResolveShim(o.Shim)
	if err != nil {
		return fmt.Errorf("process node: %w", err)
	}
	client, err := kubernetes.NewForConfig(o.Config)
	if err != nil {
		return fmt.Errorf("process node: %w", err)
	}

	// Only this node's pods; ConfigMaps, Secrets and Services everywhere,
	// which virtual-kubelet insists on having (to fill in the containers'
	// environment, which it never sees: see withoutEnv).
	podInformers := informers.NewSharedInformerFactoryWithOptions(client, informerResync,
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", o.NodeName).String()
		}))
	otherInformers := informers.NewSharedInformerFactory(client, informerResync)
	podInformer := podInformers.Core().V1().Pods()
	if err := podInformer.Informer().SetTransform(withoutEnv); err != nil {
		return fmt.Errorf("process node: %w", err)
	}

	events := record.NewBroadcaster(record.WithContext(ctx))
	defer events.Shutdown()
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "process-node", Host: o.NodeName})

	// The pods' processes outlive virtual-kubelet's controllers, which
	// stop first, so that nothing starts a pod while they are stopped.
	runCtx, stopPods := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPods()
	prov := &provider{
		base: podrun.Config{
			Images:            o.Images,
			Dir:               o.Dir,
			NodeName:          o.NodeName,
			NodeIP:            o.NodeIP,
			APIServer:         o.APIServer,
			Cluster:           cluster{core: client.CoreV1()},
			Shim:              shim,
			RestartBackoff:    o.RestartBackoff,
			MaxRestartBackoff: o.MaxRestartBackoff,
			Allocatable:       mach.resources(),
			Log:               log,
		},
		ips:     newIPPool(o.PodIPs, netip.MustParseAddr(o.NodeIP)),
		lister:  podInformer.Lister(),
		pods:    client.CoreV1(),
		runCtx:  runCtx,
		entries: map[string]*podEntry{},
	}
	defer prov.Shutdown(o.ShutdownGrace)

	pc, err := vknode.NewPodController(vknode.PodControllerConfig{
		PodClient:         client.CoreV1(),
		PodInformer:       podInformer,
		EventRecorder:     recorder,
		Provider:          prov,
		ConfigMapInformer: otherInformers.Core().V1().ConfigMaps(),
		SecretInformer:    otherInformers.Core().V1().Secrets(),
		ServiceInformer:   otherInformers.Core().V1().Services(),
	})
	if err != nil {
		return fmt.Errorf("process node: %w", err)
	}
	nodeObj := makeNode(nodeSpec{Name: o.NodeName, IP: o.NodeIP, MaxPods: o.MaxPods, Labels: o.Labels, Taints: o.Taints, Machine: mach})
	nc, err := vknode.NewNodeController(vknode.NaiveNodeProvider{}, nodeObj, client.CoreV1().Nodes(),
		vknode.WithNodeEnableLeaseV1(client.CoordinationV1().Leases(corev1.NamespaceNodeLease), o.LeaseDurationSeconds),
		vknode.WithNodeStatusUpdateInterval(o.StatusUpdateInterval))
	if err != nil {
		return fmt.Errorf("process node: %w", err)
	}

	vkCtx, stopVK := context.WithCancel(withVKLogger(ctx, log))
	defer stopVK()
	podInformers.Start(vkCtx.Done())
	otherInformers.Start(vkCtx.Done())
	defer podInformers.Shutdown()
	defer otherInformers.Shutdown()

	// The pod controller first, so the node takes pods only once it can
	// run them (the order of virtual-kubelet's nodeutil).
	go func() { _ = pc.Run(vkCtx, o.PodSyncWorkers) }()
	defer func() { stopVK(); <-pc.Done() }()
	select {
	case <-pc.Ready():
	case <-pc.Done():
		return fmt.Errorf("process node: pod controller: %w", errOr(pc.Err(), ctx.Err()))
	}
	go func() { _ = nc.Run(vkCtx) }()
	defer func() { stopVK(); <-nc.Done() }()
	select {
	case <-nc.Ready():
	case <-nc.Done():
		return fmt.Errorf("process node: registering the node: %w", errOr(nc.Err(), ctx.Err()))
	}
	log.Info("process node ready", "ip", o.NodeIP, "podIPs", o.PodIPs.String(), "dir", o.Dir)

	select {
	case <-ctx.Done():
		log.Info("process node stopping")
		return nil
	case <-pc.Done():
		return fmt.Errorf("process node: pod controller stopped: %w", errOr(pc.Err(), errors.New("no error given")))
	case <-nc.Done():
		return fmt.Errorf("process node: node controller stopped: %w", errOr(nc.Err(), errors.New("no error given")))
	}
}

func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
