#!/usr/bin/env bash
# Runs the fuzz targets for a given time each, one at a time, and prints libFuzzer's figures.
#
#   fuzz/run.sh TARGET|all SECONDS        e.g.  fuzz/run.sh all 600   fuzz/run.sh frame 60
#
# Environment:
#   FUZZ_SANITIZER=address|none   (default address; see README.md: stable Rust + RUSTC_BOOTSTRAP=1)
#   FUZZ_NO_BUILD=1               run the binaries already built
#   FUZZ_EXTRA="-seed=1 ..."      more libFuzzer flags
#   FUZZ_KNOWN_FINDINGS=skip      skip the checks that the known findings break (README.md)
#   FUZZ_RAW_EFFECT=1             feed `effect` raw bytes, not only what the budget walk admits
#
# Each target runs with -rss_limit_mb=2048 -malloc_limit_mb=512 (an allocation over the bound is
# a failure), one worker, on the grown corpus fuzz/corpus-run/<target>/ (not committed) plus the
# committed seeds fuzz/corpus/<target>/. Crashes land in fuzz/artifacts/<target>/, logs in
# fuzz/logs/<target>.log, and one row per run is appended to fuzz/logs/figures.tsv.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

targets_all=(frame effect policy)
if [[ $# -ne 2 ]]; then
    echo "usage: $0 TARGET|all SECONDS   (targets: ${targets_all[*]})" >&2
    exit 2
fi
if [[ "$1" == all ]]; then targets=("${targets_all[@]}"); else targets=("$1"); fi
seconds="$2"
sanitizer="${FUZZ_SANITIZER:-address}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$here/target/$triple/release"

if [[ -z "${FUZZ_NO_BUILD:-}" ]]; then
    # Stable toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer, ...), which
    # RUSTC_BOOTSTRAP=1 allows. -O: release without debug assertions, as the server ships (yrs
    # guards some client-supplied values with debug_assert!).
    for t in "${targets[@]}"; do
        RUSTC_BOOTSTRAP=1 cargo fuzz build -O -s "$sanitizer" --codegen-units 4 "$t"
    done
fi

mkdir -p logs
[[ -f logs/figures.tsv ]] ||
    printf 'date\ttarget\tsanitizer\tseconds_run\texecutions\texec_per_s\tcov\tft\tcorpus_entries\tpeak_rss_mb\tresult\n' >logs/figures.tsv

printf '%-8s %8s %12s %9s %7s %7s %8s %9s %s\n' target seconds executions exec/s cov ft corpus rss_mb result
# seconds: wall time actually run (a target that fails stops early)
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus-run/$t" "artifacts/$t"
    log="logs/$t.log"
    started=$(date +%s)
    set +e
    "$bin_dir/$t" "corpus-run/$t" "corpus/$t" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=30 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" ${FUZZ_EXTRA:-} >"$log" 2>&1
    rc=$?
    set -e
    ran=$(($(date +%s) - started))
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    execs="$(stat number_of_executed_units)"
    rate="$(stat average_exec_per_sec)"
    rss="$(stat peak_rss_mb)"
    last="$(grep -E '^#[0-9]+' "$log" | tail -1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
    corp="$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")"
    if [[ $rc -eq 0 ]]; then result=ok; else result="FAILED(rc=$rc, see $log and artifacts/$t/)"; status=1; fi
    printf '%-8s %8s %12s %9s %7s %7s %8s %9s %s\n' "$t" "$ran" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$result"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$sanitizer" \
        "$ran" "${execs:-}" "${rate:-}" "${cov:-}" "${ft:-}" "${corp:-}" "${rss:-}" "$result" >>logs/figures.tsv
done
exit $status
