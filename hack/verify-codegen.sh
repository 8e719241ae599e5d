#!/usr/bin/env bash
# Fails when generated code (deepcopy, CRDs) is not up to date with pkg/apis.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r pkg/apis "$tmp/apis"
mkdir -p config/crd/bases && cp -r config/crd/bases "$tmp/crds"
hack/update-codegen.sh
if ! diff -r "$tmp/apis" pkg/apis >/dev/null || ! diff -r "$tmp/crds" config/crd/bases >/dev/null; then
  echo "generated code is out of date: run hack/update-codegen.sh and commit the result" >&2
  diff -r "$tmp/apis" pkg/apis || true
  diff -r "$tmp/crds" config/crd/bases || true
  exit 1
fi
echo "generated code is up to date"
