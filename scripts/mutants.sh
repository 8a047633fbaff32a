#!/usr/bin/env bash
# Measures `checkpoint-harness verify` as a gate: the share of mutants of the coordinator and the
# tasks (src/system/coordinator/, src/system/task/) that `verify` kills.
#
#   scripts/mutants.sh                                          # every mutant (hours on 2 cores)
#   scripts/mutants.sh -f src/system/coordinator/decider.rs     # one file
#   scripts/mutants.sh --shard 0/40 --sharding round-robin      # a sample across the files
#   CHECKPOINT_HARNESS_MUTANTS_BUDGET=60s scripts/mutants.sh    # a larger verify budget
#
# Arguments are passed to cargo-mutants (`cargo install --locked cargo-mutants`), which copies
# the tree into its own scratch directory and mutates only that copy; its configuration is
# .cargo/mutants.toml (the test command is `verify --budget small --seed-base 0`, through the
# ignored test `mutation_gate` in tests/verify.rs). Before that, the script checks the named
# mutants below, which cargo-mutants does not generate (it never turns `>=` into `>`), in a
# scratch copy as well. `--no-named` skips them, `--named-only` runs only them.
#
# Prints the kill share: (caught + timeout) / (caught + timeout + missed); unviable mutants (that
# do not build) are not counted. Survivors are listed from target/mutants/mutants.out/missed.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-mutants >/dev/null 2>&1; then
    echo "error: cargo-mutants is not installed: cargo install --locked cargo-mutants" >&2
    exit 2
fi

export CHECKPOINT_HARNESS_MUTANTS_BUDGET="${CHECKPOINT_HARNESS_MUTANTS_BUDGET:-small}"
# Every mutant rebuilds one module: incremental release builds without debug info take seconds.
export CARGO_PROFILE_RELEASE_DEBUG=0
export CARGO_PROFILE_RELEASE_INCREMENTAL=true

named=1
mutants=1
args=()
for arg in "$@"; do
    case "$arg" in
        --no-named) named=0 ;;
        --named-only) mutants=0 ;;
        *) args+=("$arg") ;;
    esac
done

# Named mutants: FILE|FROM|TO (a literal, unique line fragment and its replacement).
NAMED=(
    # Issue 12: the request decider lets a third checkpoint run (off by one).
    "src/system/coordinator/decider.rs|if pending >= max_concurrent as usize && !head.forced|if pending > max_concurrent as usize && !head.forced"
)

named_killed=0
named_total=0
if [ "$named" = 1 ]; then
    scratch="$(mktemp -d "${TMPDIR:-/tmp}/checkpoint-harness-named.XXXXXX")"
    trap 'rm -rf "$scratch"' EXIT
    # Kept between runs so that rebuilding a named mutant is incremental.
    named_target="$PWD/target/mutants-named"
    # The working tree as it is (tracked and untracked, not ignored files), never edited here.
    git ls-files -z --cached --others --exclude-standard |
        tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$scratch"
    for entry in "${NAMED[@]}"; do
        IFS='|' read -r file from to <<<"$entry"
        named_total=$((named_total + 1))
        cp "$scratch/$file" "$scratch/$file.orig"
        FROM="$from" TO="$to" python3 - "$scratch/$file" <<'PY'
import os, sys
path = sys.argv[1]
text = open(path).read()
old, new = os.environ["FROM"], os.environ["TO"]
if text.count(old) != 1:
    sys.exit(f"{path}: the named mutant's line is not there exactly once: {old!r}")
open(path, "w").write(text.replace(old, new))
PY
        echo "named mutant: $file: \`$from\` -> \`$to\`"
        (cd "$scratch" && CARGO_TARGET_DIR="$named_target" cargo build --release --quiet)
        status=0
        "$named_target/release/checkpoint-harness" verify --budget "$CHECKPOINT_HARNESS_MUTANTS_BUDGET" \
            --seed-base 0 --fail-fast --out-dir "$scratch/traces-out" --traces-dir "$scratch/traces" \
            >"$scratch/verify.txt" 2>&1 || status=$?
        if [ "$status" = 1 ]; then
            named_killed=$((named_killed + 1))
            echo "  killed: $(grep '^verdict:' "$scratch/verify.txt")"
        else
            echo "  SURVIVED (verify exited $status):"
            tail -5 "$scratch/verify.txt" | sed 's/^/    /'
        fi
        mv "$scratch/$file.orig" "$scratch/$file"
    done
fi

if [ "$mutants" = 1 ]; then
    files=(-f 'src/system/coordinator/**' -f 'src/system/task/**')
    for arg in "${args[@]}"; do
        case "$arg" in -f | --file | --file=* | -f*) files=() ;; esac
    done
    status=0
    cargo mutants --jobs 1 --output target/mutants "${files[@]}" "${args[@]}" || status=$?
    # cargo-mutants exits 2 when some mutants were missed, 3 on timeouts: the score says more.
    if [ "$status" != 0 ] && [ "$status" != 2 ] && [ "$status" != 3 ]; then
        echo "error: cargo-mutants failed (exit $status)" >&2
        exit "$status"
    fi
    out=target/mutants/mutants.out
    count() { if [ -s "$out/$1" ]; then wc -l <"$out/$1" | tr -d ' '; else echo 0; fi; }
    caught=$(count caught.txt)
    timeout=$(count timeout.txt)
    missed=$(count missed.txt)
    unviable=$(count unviable.txt)
    tested=$((caught + timeout + missed))
    echo
    echo "cargo-mutants: $caught caught, $timeout timeouts, $missed missed, $unviable unviable"
    if [ "$tested" -gt 0 ]; then
        echo "kill share: $((caught + timeout)) of $tested viable mutants ($(((caught + timeout) * 100 / tested))%)"
    fi
    if [ "$missed" -gt 0 ]; then
        echo "survivors:"
        sed 's/^/  /' "$out/missed.txt"
    fi
fi
if [ "$named" = 1 ]; then
    echo "named mutants: $named_killed of $named_total killed"
    if [ "$named_killed" != "$named_total" ]; then
        exit 1
    fi
fi
