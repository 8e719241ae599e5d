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

system=kafka
title="Apache Kafka"
# shellcheck source=hack/lib/jars.sh
. "$here/../lib/jars.sh"
# What install_jars checks: these jars prove an install complete, and this
# main class must run on it.
# shellcheck disable=SC2034
required=("kafka_2.13-${version}.jar" "kafka-clients-${version}.jar")
# shellcheck disable=SC2034
smoke=(kafka.tools.StorageTool random-uuid)

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
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
