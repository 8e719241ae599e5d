#!/usr/bin/env bash
# Regenerates, with controller-gen: deepcopy functions and CRDs from
# pkg/apis; the controller's ClusterRole (config/rbac/role.yaml) from the
# +kubebuilder:rbac markers in pkg/reconciler; and the activator's
# (config/activator/role.yaml) from those in pkg/runtime/kubernetes.
set -euo pipefail
cd "$(dirname "$0")/.."
CONTROLLER_GEN_VERSION=v0.19.0
gen() { go run "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_GEN_VERSION}" "$@"; }
gen object:headerFile=hack/boilerplate.go.txt paths=./pkg/apis/...
gen crd paths=./pkg/apis/... output:crd:dir=config/crd/bases
gen rbac:roleName=freshet-controller paths=./pkg/reconciler/... output:rbac:dir=config/rbac
gen rbac:roleName=freshet-activator paths=./pkg/runtime/kubernetes/... output:rbac:dir=config/activator
