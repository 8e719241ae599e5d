// Package podrun runs one Kubernetes Pod as local processes: the part of the
// process node (test/processnode) that a kubelet and a container runtime do on
// a real node. It is test and development infrastructure: it lets a real
// control plane schedule Pods whose containers are programs on this machine.
//
// # What it does like a kubelet
//
//   - argv from command/args and the image's entrypoint/cmd, with $(VAR)
//     expansion; the environment from env, envFrom, fieldRef,
//     resourceFieldRef, configMapKeyRef and secretKeyRef, plus HOSTNAME,
//     PATH and KUBERNETES_SERVICE_HOST/PORT.
//   - Init containers one after another, then the app containers; restarts
//     per restartPolicy with exponential back-off (CrashLoopBackOff).
//   - Volumes: emptyDir, configMap, secret, downwardAPI, projected (incl. the
//     service-account token, so in-cluster client-go config works) and
//     hostPath, mounted at their mountPath (subPath, subPathExpr, readOnly)
//     in a private mount namespace per container.
//   - Each Pod without hostNetwork gets its own network namespace, so two
//     Pods can both listen on :8080; the Pod is reachable at podIP:port on
//     the host through a forwarder for every declared TCP containerPort and
//     every probe port. The forwarder and the probes connect to podIP:port
//     inside the namespace (all of 127.0.0.0/8 is local there), so the
//     application must listen on its Pod IP or on all addresses, as on a
//     real node; one listening on 127.0.0.1 only is not reachable.
//   - Startup, liveness and readiness probes (httpGet, tcpSocket, exec).
//   - A status a kubelet would report: phase, conditions, container states.
//
// # What is not like a kubelet
//
//   - Everything runs as the node's user (root). securityContext (runAsUser,
//     readOnlyRootFilesystem, capabilities, …) and resources (no cgroups, so
//     never OOMKilled) are ignored. There is no root filesystem of the image:
//     an "image" is an entry of Config.Images naming a program on this
//     machine; imagePullPolicy is ignored.
//   - A Pod's own network namespace holds only a loopback interface: such a
//     Pod reaches nothing outside itself (no API server, no broker, no other
//     Pod). Pods that need the network must use hostNetwork: true. The host
//     reaches a Pod only at podIP on its declared and probed ports.
//     hostPort, Services and DNS are not provided; /etc/hosts and
//     /etc/resolv.conf are the host's.
//   - Mount targets are created on the host's filesystem when missing
//     (mkdir -p, or an empty file for a file mount) and stay there as empty
//     directories/files; the mounts themselves are private to the container's
//     mount namespace. A process that escapes its process group (setsid) is
//     not killed on stop; everything else in the group is, also after the main
//     process exits. Unlike a kubelet's containers, processes do not outlive
//     the node process: if it dies, even by SIGKILL, the kernel sends SIGKILL
//     to every container's main process and exec probe (Pdeathsig; a restarted
//     node could not find them again anyway). What such a process forked
//     itself is not signalled then, unless it too asked to die with its
//     parent.
//   - configMap, secret and projected volumes are written once when the Pod
//     starts: no updates, and the service-account token is not refreshed
//     (tokens last an hour or more; test Pods live shorter).
//   - Probes: gRPC probes are not run (treated as succeeding); httpGet and
//     tcpSocket probes for the Pod's own IP dial inside its network
//     namespace (so the forwarder cannot make a dead port look alive); exec
//     probes run in the container's mounts and network with its environment.
//   - Restart back-off: after the n-th consecutive restart the container waits
//     RestartBackoff·2^(n-1), at most MaxRestartBackoff; the count resets when
//     a container ran for 10 minutes. (The kubelet restarts the first time at
//     once and uses 10s…5m.)
//   - Readiness gates, sidecar (restartable init) containers, ephemeral
//     containers, termination messages, lifecycle hooks and service-link
//     environment variables other than KUBERNETES_* are not supported.
//     A missing image is reported as ErrImagePull and never retried (the
//     image table is fixed for the node's lifetime).
//
// # Layout on disk
//
// Each Pod gets Config.Dir/<namespace>_<name>_<uid>/ with volumes/<name>/ (the
// materialized volumes), logs/<container>.log (stdout and stderr, kept across
// restarts) and run/<container>.json (what the mount shim mounts).
//
// # The mount shim
//
// Containers are started through a shim: the node binary re-executed with
// ShimArg as its first argument, in a new mount namespace (the Go runtime
// makes / recursively private in the child first, so nothing propagates back
// to the host). The shim bind-mounts the volumes, changes to the working
// directory and execs the real program. Any binary that embeds this package
// must call MaybeShim first thing in main (and in TestMain).
package podrun
