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

system=pulsar
title="Apache Pulsar"
# shellcheck source=hack/lib/jars.sh
. "$here/../lib/jars.sh"
# What install_jars checks: these jars prove an install complete, and this
# main class must run on it.
# shellcheck disable=SC2034
required=("pulsar-broker-${version}.jar" "managed-ledger-${version}.jar")
# shellcheck disable=SC2034
smoke=(org.apache.pulsar.PulsarVersionStarter)

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

case "${1:-}" in
jars | install) install_jars ;;
*) usage ;;
esac
