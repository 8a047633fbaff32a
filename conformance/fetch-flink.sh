#!/usr/bin/env bash
# Fetches the pinned Flink runtime jars (from PyPI's apache-flink-libraries wheel) into a cache
# outside the repository's tracked files, and reuses the cache on later runs.
#
#   conformance/fetch-flink.sh        prints the directory holding flink-dist-*.jar and log4j jars
#
# The cache directory is $CHECKPOINT_HARNESS_FLINK_CACHE if set, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/checkpoint-harness/flink-$FLINK_VERSION. Only flink-dist and log4j
# are unpacked from the 329 MB wheel (pyflink/lib/); the wheel itself is deleted afterwards.
set -euo pipefail

FLINK_VERSION="2.3.0"
cache="${CHECKPOINT_HARNESS_FLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/checkpoint-harness/flink-$FLINK_VERSION}"
lib="$cache/lib"

if [ -f "$lib/flink-dist-$FLINK_VERSION.jar" ] && [ -f "$cache/.complete" ]; then
    echo "$lib"
    exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.download.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if command -v pip >/dev/null 2>&1; then
    pip_cmd=(pip)
elif command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
    pip_cmd=(python3 -m pip)
else
    echo "fetch-flink: neither pip nor python3 -m pip is available (Debian: apt-get install python3-pip)" >&2
    exit 2
fi

echo "fetch-flink: downloading apache-flink-libraries==$FLINK_VERSION from PyPI into $cache" >&2
"${pip_cmd[@]}" download --quiet --no-deps --disable-pip-version-check -d "$work" \
    "apache-flink-libraries==$FLINK_VERSION" >&2
wheel="$(ls "$work"/apache_flink_libraries-*.whl 2>/dev/null | head -n 1 || true)"
if [ -z "$wheel" ]; then
    echo "fetch-flink: pip did not produce the apache-flink-libraries wheel" >&2
    exit 2
fi

# A wheel is a zip; unpack only flink-dist and the log4j jars (python zipfile: no unzip needed).
python3 - "$wheel" "$work/lib" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        wanted = base.startswith("flink-dist-") or base.startswith("log4j-")
        if name.startswith("pyflink/lib/") and name.endswith(".jar") and wanted:
            target = os.path.join(out, os.path.basename(name))
            with z.open(name) as src, open(target + ".tmp", "wb") as dst:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    dst.write(chunk)
            os.replace(target + ".tmp", target)
PY
if [ ! -f "$work/lib/flink-dist-$FLINK_VERSION.jar" ]; then
    echo "fetch-flink: the wheel holds no pyflink/lib/flink-dist-$FLINK_VERSION.jar" >&2
    exit 2
fi
rm -rf "$lib"
mv "$work/lib" "$lib"
touch "$cache/.complete"
echo "$lib"
