#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it (after the checks):
#   1. a browser for the e2e browser tests (scripts/tools.sh chromium);
#   2. go test -race over every package, against a real PostgreSQL;
#   3. the development build's own tests (go test -tags dev ./cmd/rollcall);
#   4. 30 s of fuzzing the file reader, from the corpus in
#      infrastructure/spreadsheet/testdata/fuzz;
#   5. how many browser tests ran and how many were skipped.
# Under CI=true or ROLLCALL_REQUIRE_BROWSER=1 a missing browser fails the run;
# a developer's run without one skips the browser tests and says so at the end.
#
#   scripts/test.sh                      everything
#   scripts/test.sh ./e2e -run TestX     step 2 on these packages only (no 3, 4)
set -uo pipefail
cd "$(dirname "$0")/.."

say() { echo "test.sh: $*" >&2; }

scripts/tools.sh chromium || exit 1
export ROLLCALL_TEST_CHROMIUM="${ROLLCALL_TEST_CHROMIUM:-$(command -v chromium || true)}"
[ -n "$ROLLCALL_TEST_CHROMIUM" ] || unset ROLLCALL_TEST_CHROMIUM
# Never DATABASE_URL's server: the tests create and drop databases there.
TEST_DATABASE_URL="${TEST_DATABASE_URL:-$(env -u DATABASE_URL scripts/postgres.sh --db postgres)}" || exit 1
export TEST_DATABASE_URL
report=$(mktemp "${TMPDIR:-/tmp}/rollcall-browser-report.XXXXXX")
trap 'rm -f "$report"' EXIT
export ROLLCALL_BROWSER_REPORT=$report

failed=0
if [ $# -gt 0 ]; then
  go test -race -count=1 -timeout 25m "$@" || failed=1
else
  go test -race -count=1 -timeout 25m ./... || failed=1
  go test -race -count=1 -tags dev -run 'Dev' ./cmd/rollcall || failed=1
  go test -run '^$' -fuzz '^FuzzOpenAndRead$' -fuzztime 30s -fuzzminimizetime 5s ./infrastructure/spreadsheet || failed=1
fi

tests() { awk -v o="$1" '$1 == o { print $2 }' "$report" | sort -u; }
ran=$(tests run | grep -c . || true)
skipped=$(tests skip | grep -c . || true)
missing=$(tests fail | grep -c . || true)
echo
if [ "$skipped" -gt 0 ]; then
  echo "WARNING: browser tests: $ran run, $skipped SKIPPED (no Chromium; the pages were not tested):"
  tests skip | sed 's/^/  - /'
  echo "  Install Chromium (\`sudo apt-get install chromium\`) or set ROLLCALL_TEST_CHROMIUM to a Chromium or Chrome binary."
elif [ "$missing" -gt 0 ]; then
  echo "browser tests: $ran run, $missing FAILED for want of a browser"
else
  echo "browser tests: $ran run, 0 skipped"
fi
if [ "$failed" != 0 ]; then
  say "FAILED"
  exit 1
fi
