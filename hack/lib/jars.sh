# shellcheck shell=bash disable=SC2154 # system, title, here, required, smoke: set by the caller
# Shared by hack/<system>/<system>.sh for JVM systems (Kafka, Pulsar): fetch
# a pom's runtime dependencies from Maven Central into a cache directory,
# atomically and under a lock. Source it after setting:
#
#   system      short name: the cache folder, the pom property <system.version>
#               and the prefix of log lines (kafka)
#   title       the name people know (Apache Kafka)
#   here        the folder holding pom.xml and log4j2.properties
#   required    jar names whose presence proves a complete install (set after
#               sourcing, once ${version} is known)
#   smoke       a main class and arguments that must run on the fetched
#               classpath (likewise)
#
# It then defines log, die, lock, java_bin and install_jars, and sets
# version, cache and dest:
#
# ${FRESHET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshet}/<system>/<version>-<hash>/
# where <hash> covers pom.xml and log4j2.properties, so editing either gives a
# new directory. Maven downloads into its usual local repository and the jars
# are copied into a temporary directory renamed into place only when
# complete, so an interrupted install never leaves a half-filled cache.
# Concurrent callers wait on a lock.

log() { printf '%s.sh: %s\n' "$system" "$*" >&2; }
die() { log "error: $*"; exit 1; }

cache="${FRESHET_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/freshet}/$system"

# The version comes from the pom, the single source of truth.
version="$(sed -n "s:.*<$system.version>\(.*\)</$system.version>.*:\1:p" "$here/pom.xml" | head -n1)"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read <$system.version> from $here/pom.xml (got '$version')"
key="$(cat "$here/pom.xml" "$here/log4j2.properties" | sha256sum | cut -c1-10)"
dest="$cache/${version}-${key}"

# lock NAME: hold $cache/.NAME.lock (fd 9) until the script exits.
lock() {
	command -v flock >/dev/null 2>&1 || return 0
	mkdir -p "$cache"
	exec 9>"$cache/.$1.lock"
	if ! flock -n 9; then
		log "waiting for another $system.sh $1 to finish"
		flock 9
	fi
}

jars_complete() {
	[[ -f "$1/version" && -f "$1/log4j2.properties" ]] || return 1
	local jar
	for jar in "${required[@]}"; do
		[[ -f "$1/libs/$jar" ]] || return 1
	done
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
	[[ -n "$java" ]] || die "java is not on PATH (nor JAVA_HOME set); $title $version needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
	major="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')"
	[[ -n "$major" && "$major" -ge 17 ]] || die "$java is Java '${major:-unknown}'; $title $version needs Java 17 or newer"
}

# install_jars fills $dest (once) and prints it.
install_jars() {
	if jars_complete "$dest"; then
		printf '%s\n' "$dest"
		return
	fi
	check_java
	command -v mvn >/dev/null 2>&1 || die "mvn (Maven) is not on PATH; it is needed to fetch $title $version's jars from Maven Central into $dest (Debian: apt-get install maven)"

	lock jars
	if jars_complete "$dest"; then
		printf '%s\n' "$dest"
		return
	fi
	# Holding the lock, no install is running: any temporary directory left
	# is from one that was killed.
	rm -rf "$cache"/.install-*

	local tmp start
	tmp="$(mktemp -d "$cache/.install-${version}-${key}.XXXXXX")"
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT

	log "fetching $title $version and its runtime dependencies from Maven Central into $dest"
	start=$SECONDS
	# Maven writes nothing to the working directory for this goal, but run
	# it in the temporary one anyway so the source tree stays clean.
	(
		cd "$tmp"
		mvn -B -q -Dstyle.color=never -f "$here/pom.xml" \
			org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
			-DincludeScope=runtime -DoutputDirectory="$tmp/libs" >&2
	) || die "mvn could not resolve $title $version's jars (see $here/pom.xml and mvn's output above; is Maven Central reachable?)"
	cp "$here/log4j2.properties" "$tmp/log4j2.properties"
	printf '%s\n' "$version" >"$tmp/version"
	jars_complete "$tmp" || die "mvn did not produce ${required[*]} in $tmp/libs"

	# Check that the classpath loads before it goes into the cache.
	"$(java_bin)" -Xmx64m -XX:TieredStopAtLevel=1 -cp "$tmp/libs/*" \
		-Dlog4j2.configurationFile="$tmp/log4j2.properties" -Dfreshet."$system".loglevel=WARN \
		"${smoke[@]}" >/dev/null ||
		die "the fetched jars do not run ${smoke[0]}"

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
