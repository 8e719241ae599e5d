#!/usr/bin/env bash
# Installs and runs two real SQS emulators for Freshet's SQS integration
# tests (test/brokers/sqs):
#
#   fauxqs     an SQS/SNS/S3 emulator on Node.js, from npm, pinned by
#              hack/sqs/package.json and package-lock.json (npm ci)
#   ElasticMQ  the Scala/Pekko SQS emulator, from Maven Central, pinned by
#              hack/sqs/pom.xml (mvn dependency:copy-dependencies)
#
# Usage:
#   hack/sqs/sqs.sh install [fauxqs|elasticmq]   fill the cache (both by default);
#                                                prints the cache directory
#   hack/sqs/sqs.sh fauxqs PORT                  run fauxqs on 127.0.0.1:PORT
#   hack/sqs/sqs.sh elasticmq PORT               run ElasticMQ on 127.0.0.1:PORT
#
# install prints the cache directory as the last line on stdout; everything
# else goes to stderr. It is fast and idempotent once the cache is filled.
# The run commands install first if needed, then exec the emulator (so its
# pid is the script's) in the foreground; stop it with SIGTERM or SIGKILL.
#
# Cache: ${FRESHET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshet}/sqs/
#   fauxqs-<version>-<lockfile hash>/node_modules
#   elasticmq-<version>/libs
# Each goes into a temporary directory that is renamed into place only when
# complete, so an interrupted install never leaves a half-filled cache;
# concurrent callers wait on a lock instead of installing twice.
#
# Needs: node >= 20 and npm (fauxqs 1.9.2; fauxqs 2.x needs node >= 22.5 for
# node:sqlite), java >= 11 and mvn (ElasticMQ). Network: the npm registry and
# Maven Central, for the first install only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf 'sqs.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

fauxqs_version="$(sed -n 's/^ *"fauxqs": *"\([^"]*\)".*/\1/p' "$here/package.json" | head -n1)"
[[ "$fauxqs_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read an exact fauxqs version from $here/package.json (got '$fauxqs_version')"
elasticmq_version="$(sed -n 's:.*<elasticmq.version>\(.*\)</elasticmq.version>.*:\1:p' "$here/pom.xml" | head -n1)"
[[ "$elasticmq_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read elasticmq.version from $here/pom.xml (got '$elasticmq_version')"
# The lock file pins fauxqs's dependencies too: a change to it is a new install.
lock_hash="$(sha256sum "$here/package-lock.json" | cut -c1-12)"

cache="${FRESHET_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/freshet}/sqs"
fauxqs_dir="$cache/fauxqs-${fauxqs_version}-${lock_hash}"
elasticmq_dir="$cache/elasticmq-${elasticmq_version}"

fauxqs_complete() { [[ -f "$fauxqs_dir/node_modules/fauxqs/package.json" ]]; }
elasticmq_complete() { [[ -f "$elasticmq_dir/libs/elasticmq-server_2.13-${elasticmq_version}.jar" ]]; }

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH; it is needed $2"
}

check_node() {
	need node "to run fauxqs $fauxqs_version"
	local major
	major="$(node -p 'process.versions.node.split(".")[0]')" || die "node does not run"
	((major >= 20)) || die "fauxqs $fauxqs_version needs node >= 20, found $(node --version)"
}

check_java() {
	need java "to run ElasticMQ $elasticmq_version"
}

# lock takes the install lock on fd 9. Returns at once when another install
# is not running; otherwise waits for it.
locked=0
lock() {
	((locked)) && return 0
	mkdir -p "$cache"
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$cache/.lock"
		if ! flock -n 9; then
			log "waiting for another install of the SQS emulators to finish"
			flock 9
		fi
		# Holding the lock, no install is running: any temporary directory
		# left is from an install that was killed.
		rm -rf "$cache"/.install-*
	fi
	locked=1
}

# place renames the complete temporary directory $1 to $2 (atomic rename(2)).
place() {
	if ! mv -T "$1" "$2" 2>/dev/null; then
		[[ -d "$2" ]] || die "could not move $1 to $2"
		log "another install filled $2 first; using it"
		rm -rf "$1"
	fi
}

install_fauxqs() {
	fauxqs_complete && return 0
	check_node
	need npm "to install fauxqs $fauxqs_version from the npm registry"
	lock
	fauxqs_complete && return 0
	local tmp start=$SECONDS
	tmp="$(mktemp -d "$cache/.install-fauxqs-${fauxqs_version}.XXXXXX")"
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	log "installing fauxqs $fauxqs_version (npm ci) into $fauxqs_dir"
	cp "$here/package.json" "$here/package-lock.json" "$tmp/"
	# --ignore-scripts: nothing in fauxqs's tree needs an install script.
	# Engine warnings are silenced (loglevel error): cookie@2 declares node >= 22
	# but runs on 20, which the check below proves.
	(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) ||
		die "npm ci failed for fauxqs $fauxqs_version; it needs the npm registry (see $here/package-lock.json)"
	# Check that fauxqs loads on this node before it goes into the cache.
	node --input-type=module -e '
		import { pathToFileURL } from "node:url";
		const m = await import(pathToFileURL(process.argv[1] + "/node_modules/fauxqs/dist/app.js").href);
		if (typeof m.buildApp !== "function") throw new Error("fauxqs has no buildApp export");
	' "$tmp" >&2 || die "fauxqs $fauxqs_version does not load on node $(node --version)"
	rm -f "$tmp/package.json" "$tmp/package-lock.json"
	place "$tmp" "$fauxqs_dir"
	trap - EXIT
	log "installed fauxqs in $((SECONDS - start))s: $(du -sh "$fauxqs_dir" | cut -f1) in $fauxqs_dir"
}

install_elasticmq() {
	elasticmq_complete && return 0
	check_java
	need mvn "to fetch ElasticMQ $elasticmq_version and its dependencies from Maven Central"
	lock
	elasticmq_complete && return 0
	local tmp start=$SECONDS
	tmp="$(mktemp -d "$cache/.install-elasticmq-${elasticmq_version}.XXXXXX")"
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	log "fetching ElasticMQ $elasticmq_version (mvn dependency:copy-dependencies) into $elasticmq_dir"
	# Maven's log is shown only if it fails (with -q, Maven 3.8 still prints
	# stray colour codes).
	if ! mvn -B -ntp -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1; then
		tail -n 40 "$tmp/mvn.log" >&2
		die "mvn could not fetch org.elasticmq:elasticmq-server_2.13:$elasticmq_version; it needs Maven Central (see $here/pom.xml)"
	fi
	rm -f "$tmp/mvn.log"
	[[ -f "$tmp/libs/elasticmq-server_2.13-${elasticmq_version}.jar" ]] ||
		die "mvn did not copy elasticmq-server_2.13-${elasticmq_version}.jar into $tmp/libs"
	place "$tmp" "$elasticmq_dir"
	trap - EXIT
	log "fetched ElasticMQ in $((SECONDS - start))s: $(du -sh "$elasticmq_dir" | cut -f1) in $elasticmq_dir"
}

port_arg() {
	if ! [[ "${1:-}" =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then
		die "usage: $0 $2 PORT (got '${1:-}')"
	fi
}

cmd="${1:-}"
case "$cmd" in
install)
	case "${2:-all}" in
	all) install_fauxqs; install_elasticmq ;;
	fauxqs) install_fauxqs ;;
	elasticmq) install_elasticmq ;;
	*) die "usage: $0 install [fauxqs|elasticmq]" ;;
	esac
	printf '%s\n' "$cache"
	;;
fauxqs)
	port_arg "${2:-}" fauxqs
	install_fauxqs
	check_node
	exec 9>&-
	exec node "$here/fauxqs.mjs" "$fauxqs_dir/node_modules" "$2"
	;;
elasticmq)
	port_arg "${2:-}" elasticmq
	install_elasticmq
	check_java
	exec 9>&-
	# A small heap, serial GC and C1 only: it starts faster on 2 cores and
	# test traffic needs no more. ELASTICMQ_JAVA_OPTS adds or overrides.
	# shellcheck disable=SC2086 # word splitting of the options is intended
	ELASTICMQ_PORT="$2" exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
		${ELASTICMQ_JAVA_OPTS:-} \
		-Dconfig.file="$here/elasticmq.conf" \
		-cp "$elasticmq_dir/libs/*" org.elasticmq.server.Main
	;;
*)
	die "usage: $0 install [fauxqs|elasticmq] | fauxqs PORT | elasticmq PORT"
	;;
esac
