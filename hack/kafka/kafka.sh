#!/usr/bin/env bash
# Provides a real Apache Kafka broker (KRaft, single node) for the
# integration tests, assembled from Maven Central jars, and Debian's kcat as
# an independent client. test/brokers/kafka calls this; it starts the broker.
#
#   hack/kafka/kafka.sh install   # jars and kcat; prints the Kafka directory
#   hack/kafka/kafka.sh jars      # only the jars; prints the Kafka directory
#   hack/kafka/kafka.sh kcat      # only kcat; prints the kcat path
#
# The last line on stdout is the result; everything else goes to stderr.
# Fast and idempotent once the cache is filled.
#
# The Kafka directory holds libs/ (kafka_2.13 and its runtime dependencies,
# plus a Log4j 2 binding), log4j2.properties and a file named version. Run a
# broker from it with
#
#   java -cp "$dir/libs/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
#       kafka.tools.StorageTool format -t <cluster id> -c server.properties
#   java -Xmx512m -cp "$dir/libs/*" -Dlog4j2.configurationFile=... \
#       kafka.Kafka server.properties
#
# Cache: ${FRESHET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshet}/kafka/<version>-<hash>/
# where <hash> covers pom.xml and log4j2.properties, so editing either gives
# a new directory. Maven downloads into its usual local repository
# (~/.m2/repository) and the jars are then copied into a temporary directory
# that is renamed into place only when complete, so an interrupted install
# never leaves a half-filled cache. Concurrent callers wait on a lock.
#
# Needs: java 17 or newer and mvn (Maven) for the jars, reaching Maven
# Central; apt-get (as root, or sudo without a password) for kcat.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

cache="${FRESHET_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/freshet}/kafka"

# The version comes from the pom, the single source of truth.
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml" | head -n1)"
[[ "$kafka_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read <kafka.version> from $here/pom.xml (got '$kafka_version')"
key="$(cat "$here/pom.xml" "$here/log4j2.properties" | sha256sum | cut -c1-10)"
dest="$cache/${kafka_version}-${key}"

# lock NAME: hold $cache/.NAME.lock (fd 9) until the script exits.
lock() {
	command -v flock >/dev/null 2>&1 || return 0
	mkdir -p "$cache"
	exec 9>"$cache/.$1.lock"
	if ! flock -n 9; then
		log "waiting for another kafka.sh $1 to finish"
		flock 9
	fi
}

jars_complete() {
	[[ -f "$1/version" && -f "$1/log4j2.properties" && -f "$1/libs/kafka_2.13-${kafka_version}.jar" && -f "$1/libs/kafka-clients-${kafka_version}.jar" ]]
}

java_bin() {
	if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
		printf '%s\n' "$JAVA_HOME/bin/java"
	else
		command -v java 2>/dev/null || true
	fi
}

check_java() {
	local java major
	java="$(java_bin)"
	[[ -n "$java" ]] || die "java is not on PATH (nor JAVA_HOME set); Kafka $kafka_version needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
	major="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')"
	[[ -n "$major" && "$major" -ge 17 ]] || die "$java is Java '${major:-unknown}'; Kafka $kafka_version needs Java 17 or newer"
}

install_jars() {
	if jars_complete "$dest"; then
		printf '%s\n' "$dest"
		return
	fi
	check_java
	command -v mvn >/dev/null 2>&1 || die "mvn (Maven) is not on PATH; it is needed to fetch Kafka $kafka_version's jars from Maven Central into $dest (Debian: apt-get install maven)"

	lock jars
	if jars_complete "$dest"; then
		printf '%s\n' "$dest"
		return
	fi
	# Holding the lock, no install is running: any temporary directory left
	# is from one that was killed.
	rm -rf "$cache"/.install-*

	local tmp start
	tmp="$(mktemp -d "$cache/.install-${kafka_version}-${key}.XXXXXX")"
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT

	log "fetching Apache Kafka $kafka_version (kafka_2.13 and its runtime dependencies) from Maven Central into $dest"
	start=$SECONDS
	# Maven writes nothing to the working directory for this goal, but run
	# it in the temporary one anyway so the source tree stays clean.
	(
		cd "$tmp"
		mvn -B -q -Dstyle.color=never -f "$here/pom.xml" \
			org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
			-DincludeScope=runtime -DoutputDirectory="$tmp/libs" >&2
	) || die "mvn could not resolve Kafka $kafka_version's jars (see $here/pom.xml and mvn's output above; is Maven Central reachable?)"
	cp "$here/log4j2.properties" "$tmp/log4j2.properties"
	printf '%s\n' "$kafka_version" >"$tmp/version"
	jars_complete "$tmp" || die "mvn did not produce kafka_2.13-${kafka_version}.jar and kafka-clients-${kafka_version}.jar in $tmp/libs"

	# Check that the classpath loads before it goes into the cache.
	"$(java_bin)" -Xmx64m -XX:TieredStopAtLevel=1 -cp "$tmp/libs/*" \
		-Dlog4j2.configurationFile="$tmp/log4j2.properties" -Dfreshet.kafka.loglevel=WARN \
		kafka.tools.StorageTool random-uuid >/dev/null ||
		die "the fetched jars do not run kafka.tools.StorageTool"

	# Atomic: rename(2) of a complete directory into place.
	if ! mv -T "$tmp" "$dest" 2>/dev/null; then
		jars_complete "$dest" || die "could not move $tmp to $dest"
		log "another install filled $dest first; using it"
	fi
	trap - EXIT
	rm -rf "$tmp"
	log "installed in $((SECONDS - start))s: $(du -sh "$dest" | cut -f1) in $dest"
	printf '%s\n' "$dest"
}

install_kcat() {
	local path
	if path="$(command -v kcat 2>/dev/null)"; then
		printf '%s\n' "$path"
		return
	fi
	lock kcat
	if path="$(command -v kcat 2>/dev/null)"; then
		printf '%s\n' "$path"
		return
	fi
	command -v apt-get >/dev/null 2>&1 ||
		die "kcat is not on PATH and there is no apt-get to install it; install kcat (the Kafka command-line client, formerly kafkacat) by hand"
	local -a sudo=()
	if [[ "$(id -u)" != 0 ]]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			die "kcat is not on PATH and installing it needs root; run: sudo apt-get update && sudo apt-get install -y kcat"
		fi
	fi
	log "kcat is not on PATH; installing the Debian package kcat with apt-get"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
		die "apt-get update failed, so kcat cannot be installed; run: apt-get update && apt-get install -y kcat"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends kcat >&2 ||
		die "apt-get install kcat failed; run: apt-get update && apt-get install -y kcat"
	path="$(command -v kcat 2>/dev/null)" || die "apt-get installed kcat but kcat is still not on PATH"
	log "installed $path: $("$path" -V 2>&1 | grep -m1 '^Version' || true)"
	printf '%s\n' "$path"
}

case "${1:-}" in
install)
	# kcat first, so the Kafka directory is the last line on stdout.
	install_kcat >/dev/null
	install_jars
	;;
jars) install_jars ;;
kcat) install_kcat ;;
*) usage ;;
esac
