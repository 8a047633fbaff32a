#!/usr/bin/env bash
# Builds (when stale) and runs one end-to-end MiniCluster job (issue 10, point 6).
#
#   conformance/minicluster/run-job.sh MODE FAULT OUTDIR
#
# MODE: aligned | unaligned; FAULT: none | task | committer; OUTDIR: a fresh or empty directory
# for the sink's pending and committed files and the JobManager's log (OUTDIR/jobmanager.log).
# Prints one JSON line on stdout (see src/checkpointharness/minicluster/Job.java).
#
# Classes go to $MINICLUSTER_CLASSES if set, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/checkpoint-harness/minicluster-classes (outside the work tree);
# they are rebuilt when any file under conformance/minicluster/src is newer than the last build.
# Flink's jars come from conformance/fetch-flink.sh. Extra JVM options: MINICLUSTER_JAVA_OPTS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "$#" -ne 3 ]; then
    echo "usage: $0 aligned|unaligned none|task|committer OUTDIR" >&2
    exit 2
fi
mode="$1"
fault="$2"
outdir="$3"
lib="$("$here/../fetch-flink.sh")"
classes="${MINICLUSTER_CLASSES:-${XDG_CACHE_HOME:-$HOME/.cache}/checkpoint-harness/minicluster-classes}"
stamp="$classes/.built"

if [ ! -f "$stamp" ] || [ -n "$(find "$here/src" -name '*.java' -newer "$stamp" -print -quit)" ]; then
    rm -rf "$classes"
    mkdir -p "$classes"
    # shellcheck disable=SC2046
    javac -nowarn -encoding UTF-8 -d "$classes" -cp "$lib/*" $(find "$here/src" -name '*.java' | sort) >&2
    touch "$stamp"
fi

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
# BasicContextSelector: one log4j context for the whole JVM; without it the user-code class
# loader opens a second context that truncates the log file (flink-conformance.md, Way 1).
# shellcheck disable=SC2086
exec java ${MINICLUSTER_JAVA_OPTS:-} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx512m \
    -Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.BasicContextSelector \
    -Dlog4j.configurationFile="$here/log4j2.properties" \
    -Dminicluster.log="$outdir/jobmanager.log" \
    -cp "$classes:$lib/*" checkpointharness.minicluster.Job "$mode" "$fault" "$outdir"
