// Package local runs Freshet functions as child processes on this machine, for
// `freshet dev`.
//
// Each replica of a function is one child process running the function's command and
// args in its own process group, with PORT set to a loopback port the replica owns. A
// replica takes events once its health probe answers; the runtime tells a Router which
// replicas are ready, restarts replicas that crash (with backoff, on a new port), and
// drains a replica before stopping it: withdraw it from the Router, wait for its
// in-flight requests, then SIGTERM its process group and SIGKILL it after a grace period.
package local
