#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries the tests need (etcd,
# kube-apiserver, kubectl) from the Go module proxy, using the wrapper module
# in hack/kube, and caches them. Prints the directory holding them as the last
# line on stdout; everything else goes to stderr. Fast and idempotent once
# the cache is filled:
#
#   export KUBEBUILDER_ASSETS="$(hack/test-binaries.sh)"
#
# Cache: ${FRESHET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshet}/kube/<k8s>-<etcd>/
# A cold build takes several minutes on 2 cores; the build goes into a
# temporary directory that is renamed into place only when complete, so an
# interrupted build never leaves a half-filled cache. Concurrent callers (for
# example several test packages at once) wait on a lock instead of building
# twice.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kubemod="$root/hack/kube"

log() { printf 'test-binaries: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The versions come from the wrapper module's go.mod, the single source of truth.
modversion() {
	awk -v m="$1" '($1 == m || ($1 == "require" && $2 == m)) { v = $NF } END { print v }' "$kubemod/go.mod"
}
k8s_version="$(modversion k8s.io/kubernetes)"
etcd_version="$(modversion go.etcd.io/etcd/server/v3)"
[[ "$k8s_version" =~ ^v1\.([0-9]+)\.[0-9]+$ ]] || die "cannot read k8s.io/kubernetes version from $kubemod/go.mod (got '$k8s_version')"
k8s_minor="${BASH_REMATCH[1]}"
[[ -n "$etcd_version" ]] || die "cannot read go.etcd.io/etcd/server/v3 version from $kubemod/go.mod"

cache="${FRESHET_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/freshet}/kube"
dest="$cache/${k8s_version}-${etcd_version}"
bins=(etcd kube-apiserver kubectl)

complete() {
	local b
	for b in "${bins[@]}"; do
		[[ -x "$1/$b" ]] || return 1
	done
}

if complete "$dest"; then
	printf '%s\n' "$dest"
	exit 0
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH; it is needed to build ${bins[*]} into $dest"
mkdir -p "$cache"

# One builder at a time; the others wait and then find the cache filled.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/.lock"
	if ! flock -n 9; then
		log "waiting for another build of the test binaries to finish"
		flock 9
	fi
	if complete "$dest"; then
		printf '%s\n' "$dest"
		exit 0
	fi
	# Holding the lock, no build is running: any temporary directory left is
	# from a build that was killed.
	rm -rf "$cache"/.build-*
fi

tmp="$(mktemp -d "$cache/.build-${k8s_version}-${etcd_version}.XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

log "building ${bins[*]} (k8s.io/kubernetes $k8s_version, etcd $etcd_version) into $dest"
log "a cold build takes several minutes (about 10 on 2 cores); later runs reuse the cache"
start=$SECONDS
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$k8s_version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$k8s_minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"
(
	cd "$kubemod"
	export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
	# One invocation, so compiling and linking overlap across the three.
	go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
		go.etcd.io/etcd/server/v3 \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kubectl >&2
) || die "go build failed; the binaries are built from the Go module proxy (see hack/kube/go.mod)"
# go names the etcd binary after the module path without its /v3: "server".
mv "$tmp/server" "$tmp/etcd" || die "go build did not produce the etcd binary"

# Check that each binary runs before it goes into the cache.
"$tmp/etcd" --version >&2 || die "the built etcd does not run"
"$tmp/kube-apiserver" --version >&2 || die "the built kube-apiserver does not run"
"$tmp/kubectl" version --client >&2 || die "the built kubectl does not run"

# Atomic: rename(2) of a complete directory into place.
if ! mv -T "$tmp" "$dest" 2>/dev/null; then
	complete "$dest" || die "could not move $tmp to $dest"
	log "another build filled $dest first; using it"
fi
trap - EXIT
rm -rf "$tmp"
log "built in $((SECONDS - start))s: $(du -sh "$dest" | cut -f1) in $dest"
printf '%s\n' "$dest"
