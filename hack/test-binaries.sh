#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries the tests need (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) from the
# Go module proxy, using the wrapper module in hack/kube, and caches them.
# Prints the directory holding them as the last line on stdout; everything
# else goes to stderr. Fast and idempotent once the cache is filled:
#
#   export KUBEBUILDER_ASSETS="$(hack/test-binaries.sh)"
#
# Cache: ${FRESHET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshet}/kube/<k8s>-<etcd>/
# A cold build takes several minutes on 2 cores; the build goes into a
# temporary directory that is renamed into place only when complete, so an
# interrupted build never leaves a half-filled cache. A cache directory from
# an older version of this script that lacks some of the binaries is
# completed: only the missing ones are built, then renamed in one by one.
# Concurrent callers (for example several test packages at once) wait on a
# lock instead of building twice.
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
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

# pkg_of prints the Go package that builds binary $1.
pkg_of() {
	case "$1" in
	etcd) echo go.etcd.io/etcd/server/v3 ;;
	kubectl | kube-*) echo "k8s.io/kubernetes/cmd/$1" ;;
	*) die "no package for binary $1" ;;
	esac
}

# missing prints the binaries that directory $1 lacks, one per line.
missing() {
	local b
	for b in "${bins[@]}"; do
		[[ -x "$1/$b" ]] || echo "$b"
	done
}

complete() { [[ -z "$(missing "$1")" ]]; }

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

mapfile -t todo < <(missing "$dest")
pkgs=()
for b in "${todo[@]}"; do
	pkgs+=("$(pkg_of "$b")")
done

tmp="$(mktemp -d "$cache/.build-${k8s_version}-${etcd_version}.XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

log "building ${todo[*]} (k8s.io/kubernetes $k8s_version, etcd $etcd_version) into $dest"
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
	# One invocation, so compiling and linking overlap across the binaries.
	go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}" >&2
) || die "go build failed; the binaries are built from the Go module proxy (see hack/kube/go.mod)"
# go names the etcd binary after the module path without its /v3: "server".
if [[ -e "$tmp/server" ]]; then
	mv "$tmp/server" "$tmp/etcd"
fi

# Check that each binary runs before it goes into the cache.
for b in "${todo[@]}"; do
	[[ -x "$tmp/$b" ]] || die "go build did not produce $b"
	case "$b" in
	kubectl) "$tmp/$b" version --client >&2 ;;
	*) "$tmp/$b" --version >&2 ;;
	esac || die "the built $b does not run"
done

if [[ ! -e "$dest" ]]; then
	# Atomic: rename(2) of a complete directory into place.
	if ! mv -T "$tmp" "$dest" 2>/dev/null; then
		complete "$dest" || die "could not move $tmp to $dest"
		log "another build filled $dest first; using it"
	fi
else
	# Completing an older cache directory: rename(2) each binary in, so a
	# reader never sees a half-written file, and the directory counts as
	# complete only once the last one is in.
	for b in "${todo[@]}"; do
		mv -f "$tmp/$b" "$dest/$b" || die "could not move $tmp/$b to $dest"
	done
	complete "$dest" || die "$dest still lacks $(missing "$dest" | tr '\n' ' ')"
fi
trap - EXIT
rm -rf "$tmp"
log "built in $((SECONDS - start))s: $(du -sh "$dest" | cut -f1) in $dest"
printf '%s\n' "$dest"
