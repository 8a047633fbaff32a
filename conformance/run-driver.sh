#!/usr/bin/env bash
# Builds (when stale) and runs the Flink conformance driver.
#
#   conformance/run-driver.sh < script.jsonl > answers.jsonl   run the driver: JSON lines in, JSON lines out
#   conformance/run-driver.sh --build                          only compile
#   conformance/run-driver.sh --check                          run scripts/*.jsonl in one JVM, diff with expected/
#   conformance/run-driver.sh --regen                          run scripts/*.jsonl, rewrite expected/
#
# Classes go to $CONFORMANCE_CLASSES if set, else ${XDG_CACHE_HOME:-$HOME/.cache}/checkpoint-harness/conformance-classes
# (outside the work tree); they are rebuilt when any conformance/src file is newer than the last build.
# Flink's jars come from conformance/fetch-flink.sh (downloaded once, then cached).
# Logging: Flink's own log goes to stderr at ERROR; CONFORMANCE_LOG_LEVEL=INFO (or DEBUG) shows more.
# Extra JVM options: CONFORMANCE_JAVA_OPTS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# CHECKPOINT_HARNESS_FLINK_LIB points at another build of Flink (a directory with flink-dist-*.jar
# and the log4j jars, as a Flink distribution's lib/), e.g. a user's fork; else the pinned 2.3.0.
if [ -n "${CHECKPOINT_HARNESS_FLINK_LIB:-}" ]; then
    lib="$CHECKPOINT_HARNESS_FLINK_LIB"
    if ! ls "$lib"/flink-dist-*.jar >/dev/null 2>&1; then
        echo "run-driver: $lib holds no flink-dist-*.jar" >&2
        exit 2
    fi
else
    lib="$("$here/fetch-flink.sh")"
fi
classes="${CONFORMANCE_CLASSES:-${XDG_CACHE_HOME:-$HOME/.cache}/checkpoint-harness/conformance-classes}"
if [ -n "${CHECKPOINT_HARNESS_FLINK_LIB:-}" ] && [ -z "${CONFORMANCE_CLASSES:-}" ]; then
    # Compiled against another Flink: keep those classes apart from the pinned build's.
    classes="$classes-$(printf '%s' "$lib" | cksum | cut -d' ' -f1)"
fi
stamp="$classes/.built"

build() {
    if [ -f "$stamp" ] && [ -z "$(find "$here/src" -name '*.java' -newer "$stamp" -print -quit)" ]; then
        return 0
    fi
    rm -rf "$classes"
    mkdir -p "$classes"
    # shellcheck disable=SC2046
    javac -nowarn -encoding UTF-8 -d "$classes" -cp "$lib/*" $(find "$here/src" -name '*.java' | sort) >&2
    touch "$stamp"
}

run() {
    # shellcheck disable=SC2086
    exec java ${CONFORMANCE_JAVA_OPTS:-} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j.configurationFile="$here/log4j2.properties" \
        -cp "$classes:$lib/*" checkpointharness.conformance.Driver
}

mode="${1:-run}"
build
case "$mode" in
    run)
        run
        ;;
    --build)
        echo "$classes"
        ;;
    --check|--regen)
        out="$(mktemp -d)"
        trap 'rm -rf "$out"' EXIT
        # one JVM for all scripts; the output is split back per file by counting input lines
        (export LC_ALL=C; cat "$here"/scripts/*.jsonl) | (run) > "$out/all.jsonl"
        python3 - "$mode" "$here" "$out/all.jsonl" <<'PY'
import glob, os, sys
mode, here, allpath = sys.argv[1], sys.argv[2], sys.argv[3]
answers = open(allpath, encoding="utf-8").read().splitlines()
pos, failed = 0, 0
for script in sorted(glob.glob(os.path.join(here, "scripts", "*.jsonl"))):
    lines = [l for l in open(script, encoding="utf-8").read().splitlines()
             if l.strip() and not l.strip().startswith("//")]
    got = answers[pos:pos + len(lines)]
    pos += len(lines)
    expected_path = os.path.join(here, "expected", os.path.basename(script))
    if mode == "--regen":
        with open(expected_path, "w", encoding="utf-8") as f:
            f.write("".join(g + "\n" for g in got))
        print("wrote", os.path.relpath(expected_path, here))
        continue
    want = open(expected_path, encoding="utf-8").read().splitlines() if os.path.exists(expected_path) else []
    if got == want:
        print("ok  ", os.path.basename(script))
    else:
        failed += 1
        for i, (g, w) in enumerate(zip(got + [""] * len(want), want + [""] * len(got))):
            if g != w:
                print("FAIL", os.path.basename(script), "line", i + 1)
                print("  input   ", lines[i] if i < len(lines) else "")
                print("  expected", w)
                print("  got     ", g)
                break
if pos != len(answers):
    print("driver printed", len(answers), "lines for", pos, "input lines")
    failed += 1
if mode == "--check":
    print("%d passed, %d failed" % (len(glob.glob(os.path.join(here, "scripts", "*.jsonl"))) - failed, failed))
    sys.exit(1 if failed else 0)
PY
        ;;
    *)
        echo "usage: $0 [--build|--check|--regen] (no argument: run the driver on stdin)" >&2
        exit 2
        ;;
esac
