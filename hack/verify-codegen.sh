#!/usr/bin/env bash
# Fails when generated code (deepcopy, CRDs, the controller's and the
# activator's ClusterRoles) is not up to date with pkg/apis and the RBAC
# markers in pkg/reconciler and pkg/runtime/kubernetes.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r pkg/apis "$tmp/apis"
mkdir -p config/crd/bases config/rbac config/activator
cp -r config/crd/bases "$tmp/crds"
cp -r config/rbac "$tmp/rbac"
cp -r config/activator "$tmp/activator"
hack/update-codegen.sh
stale=0
for pair in "$tmp/apis:pkg/apis" "$tmp/crds:config/crd/bases" "$tmp/rbac:config/rbac" "$tmp/activator:config/activator"; do
  if ! diff -r "${pair%%:*}" "${pair#*:}" >/dev/null; then
    stale=1
    diff -r "${pair%%:*}" "${pair#*:}" || true
  fi
done
if [ "$stale" -ne 0 ]; then
  echo "generated code is out of date: run hack/update-codegen.sh and commit the result" >&2
  exit 1
fi
echo "generated code is up to date"
