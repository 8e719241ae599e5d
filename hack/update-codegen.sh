#!/usr/bin/env bash
# Regenerates deepcopy functions and CRDs from pkg/apis, and the controller's
# ClusterRole (config/rbac/role.yaml) from the +kubebuilder:rbac markers in
# pkg/reconciler, with controller-gen.
set -euo pipefail
cd "$(dirname "$0")/.."
CONTROLLER_GEN_VERSION=v0.19.0
gen() { go run "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_GEN_VERSION}" "$@"; }
gen object:headerFile=hack/boilerplate.go.txt paths=./pkg/apis/...
gen crd paths=./pkg/apis/... output:crd:dir=config/crd/bases
gen rbac:roleName=freshet-controller paths=./pkg/reconciler/... output:rbac:dir=config/rbac
