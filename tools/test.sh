#!/usr/bin/env bash
# Quick start, second command: the same set-up as tools/start.sh (no server), then every
# check CI runs. The last line is "N passed, N failed"; the exit status is non-zero if
# anything failed.
#   sudo tools/test.sh         format check; build/ all labels; build-asan/ unit|fuzz|integration
#   tools/test.sh --quick      build/ and the unit tests only (after every edit)
# Long output goes to build*/logs/; failures show the tail here.
set -euo pipefail
# shellcheck source=tools/lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
cd "$TC_ROOT"

PASSED=0
FAILED=0
CT_FAILED=0
PROBLEMS=() # steps outside ctest that failed; each also counts as one failure

problem() {
    PROBLEMS+=("$1")
    FAILED=$((FAILED + 1))
    tc_error "$1"
}

usage() {
    printf 'usage: %s [--quick]\n' "$0" >&2
    exit 2
}

# Adds the counts of a ctest log to PASSED and FAILED (its own in CT_FAILED); returns 1
# if the log has no summary line.
count_ctest() {
    local line total failed
    line="$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$1" | tail -n 1)"
    [[ -n "$line" ]] || return 1
    failed="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
    total="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")"
    CT_FAILED="$failed"
    PASSED=$((PASSED + total - failed))
    FAILED=$((FAILED + failed))
}

# run_ctest DIR [ctest args...]: runs DIR's tests, output here and in DIR/logs/ctest.log.
run_ctest() {
    local dir="$1" rc=0 log
    shift
    log="$dir/logs/ctest.log"
    mkdir -p "$dir/logs"
    tc_say "ctest in $dir/ $*"
    ctest --test-dir "$dir" --output-on-failure -j"$TC_JOBS" "$@" 2>&1 | tee "$log" || rc=$?
    if count_ctest "$log"; then
        if [[ "$rc" -ne 0 && "$CT_FAILED" -eq 0 ]]; then
            problem "ctest in $dir/ exited with $rc"
        fi
    elif grep -q 'No tests were found' "$log"; then
        tc_say "no tests in $dir/ for ${*:-all labels}"
    else
        problem "ctest in $dir/ did not run (exit $rc; see $log)"
    fi
}

# clang-format over every C source and header; lists the files that need formatting.
format_check() {
    local files out bad rc=0
    tc_say "format check (clang-format)"
    mapfile -t files < <(find src include tests tools -name node_modules -prune -o \
        -type f \( -name '*.c' -o -name '*.h' \) -print 2>/dev/null | sort)
    [[ "${#files[@]}" -gt 0 ]] || return 0
    out="$(clang-format --dry-run -Werror "${files[@]}" 2>&1)" || rc=$?
    [[ "$rc" -eq 0 ]] && return 0
    mapfile -t bad < <(sed -n -E 's/^(.+):[0-9]+:[0-9]+: error: .*/\1/p' <<<"$out" | sort -u)
    if [[ "${#bad[@]}" -eq 0 ]]; then
        printf '%s\n' "$out" | tail -n 20 >&2
        problem "clang-format failed (exit $rc)"
        return 0
    fi
    printf '!!! not formatted:\n' >&2
    printf '      %s\n' "${bad[@]}" >&2
    printf '    fix with:\n      clang-format -i %s\n' "${bad[*]}" >&2
    problem "format check: ${#bad[@]} file(s) not formatted"
}

# The browser suite's node modules (CTest runs the e2e tests themselves).
npm_ci() {
    [[ -f tests/e2e/package.json ]] || return 0
    tc_say "npm ci in tests/e2e/ (no browser download: Debian's chromium is used)"
    (
        export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
        cd tests/e2e && tc_logged "$TC_ROOT/build/logs/npm-ci.log" npm ci --no-audit --no-fund
    ) || problem "npm ci in tests/e2e/ failed"
}

summary() {
    local p
    if [[ "${#PROBLEMS[@]}" -gt 0 ]]; then
        printf '\n!!! FAILED steps (each counted as 1 failed):\n'
        for p in "${PROBLEMS[@]}"; do
            printf '      %s\n' "$p"
        done
    fi
    printf '==> finished in %s s\n' "$(tc_since "$START")"
    printf '%s passed, %s failed\n' "$PASSED" "$FAILED"
    [[ "$FAILED" -eq 0 ]]
}

quick() {
    tc_install_packages || exit 1
    tc_build_srtp || true # it has said why; the build falls back to the system libsrtp2
    if tc_build build; then
        run_ctest build -L unit
    else
        problem "build of build/ failed (build/logs/build.log)"
    fi
}

full() {
    tc_install_packages || exit 1
    tc_build_srtp || true
    # Before configuring: cmake/e2e.cmake registers the browser tests only when
    # tests/e2e/node_modules exists (a fresh clone has none).
    npm_ci
    local built=0
    if tc_build build; then
        built=1
    else
        problem "build of build/ failed (build/logs/build.log)"
    fi
    tc_dev_cert || problem "development certificate"
    if [[ "$built" -eq 1 ]]; then
        tc_dev_database || problem "demo database"
    fi
    format_check
    [[ "$built" -eq 0 ]] || run_ctest build
    if tc_build build-asan -DTC_SANITIZE=ON; then
        run_ctest build-asan -L 'unit|fuzz|integration'
    else
        problem "sanitizer build of build-asan/ failed (build-asan/logs/build.log)"
    fi
}

START="$(tc_now)"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# Freed memory is filled, so that a stale read inside an uninstrumented library
# (GLib's hash tables, say) sees garbage instead of the old value: without it
# ASan missed the freed hash keys of issue 11 (the chaos test found this).
export ASAN_OPTIONS="${ASAN_OPTIONS:-max_free_fill_size=65536:free_fill_byte=190}"
case "${1:-}" in
    "") full ;;
    --quick) quick ;;
    *) usage ;;
esac
summary
