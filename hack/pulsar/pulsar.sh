#!/usr/bin/env bash
# Provides a real Apache Pulsar broker (standalone mode: broker, BookKeeper
# bookie and metadata store in one JVM) for the integration tests, assembled
# from Maven Central jars. test/brokers/pulsar calls this; it starts the
# broker.
#
#   hack/pulsar/pulsar.sh jars      # the jars; prints the Pulsar directory
#   hack/pulsar/pulsar.sh install   # the same (all there is to install)
#
# The last line on stdout is the result; everything else goes to stderr.
# Fast and idempotent once the cache is filled.
#
# The Pulsar directory holds libs/ (pulsar-broker and its runtime
# dependencies, plus a Log4j 2 binding), log4j2.properties and a file named
# version. Run a broker from it with
#
#   java -Xmx512m -cp "$dir/libs/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
#       org.apache.pulsar.PulsarStandaloneStarter --config standalone.conf \
#       --no-functions-worker --no-stream-storage
#
# Cache: ${FRESHET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshet}/pulsar/<version>-<hash>/
# where <hash> covers pom.xml and log4j2.properties, so editing either gives
# a new directory. Maven downloads into its usual local repository
# (~/.m2/repository) and the jars are then copied into a temporary directory
# that is renamed into place only when complete, so an interrupted install
# never leaves a half-filled cache. Concurrent callers wait on a lock.
#
# Needs: java 17 or newer and mvn (Maven), reaching Maven Central.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf 'pulsar.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

cache="${FRESHET_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/freshet}/pulsar"

# The version comes from the pom, the single source of truth.
pulsar_version="$(sed -n 's:.*<pulsar.version>\(.*\)</pulsar.version>.*:\1:p' "$here/pom.xml" | head -n1)"
[[ "$pulsar_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read <pulsar.version> from $here/pom.xml (got '$pulsar_version')"
key="$(cat "$here/pom.xml" "$here/log4j2.properties" | sha256sum | cut -c1-10)"
dest="$cache/${pulsar_version}-${key}"

# lock NAME: hold $cache/.NAME.lock (fd 9) until the script exits.
lock() {
	command -v flock >/dev/null 2>&1 || return 0
	mkdir -p "$cache"
	exec 9>"$cache/.$1.lock"
	if ! flock -n 9; then
		log "waiting for another pulsar.sh $1 to finish"
		flock 9
	fi
}

jars_complete() {
	[[ -f "$1/version" && -f "$1/log4j2.properties" && -f "$1/libs/pulsar-broker-${pulsar_version}.jar" && -f "$1/libs/managed-ledger-${pulsar_version}.jar" ]]
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
	[[ -n "$java" ]] || die "java is not on PATH (nor JAVA_HOME set); Pulsar $pulsar_version needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
	major="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')"
	[[ -n "$major" && "$major" -ge 17 ]] || die "$java is Java '${major:-unknown}'; Pulsar $pulsar_version needs Java 17 or newer"
}

install_jars() {
	if jars_complete "$dest"; then
		printf '%s\n' "$dest"
		return
	fi
	check_java
	command -v mvn >/dev/null 2>&1 || die "mvn (Maven) is not on PATH; it is needed to fetch Pulsar $pulsar_version's jars from Maven Central into $dest (Debian: apt-get install maven)"

	lock jars
	if jars_complete "$dest"; then
		printf '%s\n' "$dest"
		return
	fi
	# Holding the lock, no install is running: any temporary directory left
	# is from one that was killed.
	rm -rf "$cache"/.install-*

	local tmp start
	tmp="$(mktemp -d "$cache/.install-${pulsar_version}-${key}.XXXXXX")"
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT

	log "fetching Apache Pulsar $pulsar_version (pulsar-broker and its runtime dependencies) from Maven Central into $dest"
	start=$SECONDS
	# Maven writes nothing to the working directory for this goal, but run
	# it in the temporary one anyway so the source tree stays clean.
	(
		cd "$tmp"
		mvn -B -q -Dstyle.color=never -f "$here/pom.xml" \
			org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
			-DincludeScope=runtime -DoutputDirectory="$tmp/libs" >&2
	) || die "mvn could not resolve Pulsar $pulsar_version's jars (see $here/pom.xml and mvn's output above; is Maven Central reachable?)"
	cp "$here/log4j2.properties" "$tmp/log4j2.properties"
	printf '%s\n' "$pulsar_version" >"$tmp/version"
	jars_complete "$tmp" || die "mvn did not produce pulsar-broker-${pulsar_version}.jar and managed-ledger-${pulsar_version}.jar in $tmp/libs"

	# Check that the classpath loads before it goes into the cache: the
	# standalone starter's class and what it links against.
	"$(java_bin)" -Xmx64m -XX:TieredStopAtLevel=1 -cp "$tmp/libs/*" \
		-Dlog4j2.configurationFile="$tmp/log4j2.properties" -Dfreshet.pulsar.loglevel=WARN \
		org.apache.pulsar.PulsarVersionStarter >/dev/null ||
		die "the fetched jars do not run org.apache.pulsar.PulsarVersionStarter"

	# Atomic: rename(2) of a complete directory into place.
	if ! mv -T "$tmp" "$dest" 2>/dev/null; then
		jars_complete "$dest" || die "could not move $tmp to $dest"
		log "another install filled $dest first; using it"
	fi
	trap - EXIT
	rm -rf "$tmp"
	log "installed in $((SECONDS - start))s: $(find "$dest/libs" -name "*.jar" | wc -l) jars, $(du -sh "$dest" | cut -f1) in $dest"
	printf '%s\n' "$dest"
}

case "${1:-}" in
jars | install) install_jars ;;
*) usage ;;
esac
