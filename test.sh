#!/usr/bin/env bash
# bash test.sh   install the test tools, lint, check migrations, run the adapters' (database-free) tests,
#                then the server's suite on SQLite and on PostgreSQL (127.0.0.1:5432, user postgres, a
#                fresh database dropped afterwards).
# OPM_REQUIRE_POSTGRES=1 turns an unreachable PostgreSQL into a failure instead of a loud skip.
# Extra arguments go to pytest and replace the default selection on both databases, e.g. `bash test.sh -k ledger`.
set -uo pipefail
cd "$(dirname "$0")"
source scripts/env.sh
set -e
opm_venv "server,dev"
set +e

PG_URL_BASE="${OPM_PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}"
scratch="$(mktemp -d)"
pg_db="opm_test_$(date +%s)_$$"
summary=()
status=0

cleanup() {
  if [ -n "${pg_created:-}" ]; then
    .venv/bin/python scripts/pgdb.py drop "$PG_URL_BASE" "$pg_db" >/dev/null 2>&1 || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

step() { echo "==> $1"; }
fail() { echo "FAILED: $1" >&2; status=1; }

# Go's sumdb/note and sumdb/tlog check that stock tools accept our checkpoints and proofs (ledger interop test).
if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/golang.org/x/mod ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing Go and golang.org/x/mod from Debian (ledger interop test)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-golang-x-mod-dev; } \
      >/dev/null 2>&1 || echo "warning: could not install Go; the Go interop test will be skipped" >&2
  else
    echo "warning: Go or golang.org/x/mod missing and not root: the Go interop test will be skipped" >&2
  fi
fi

# The board's end-to-end test drives Debian's Chromium (Playwright cannot download its own browser here).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step "installing Debian's chromium (browser end-to-end test)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "warning: could not install chromium; the browser test will be skipped" >&2
fi

# The public pages' accessibility scan runs axe-core, pinned in tests/e2e/package-lock.json, from the npm registry.
if [ ! -f tests/e2e/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    step "installing axe-core from the npm registry (accessibility scan)"
    npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error >/dev/null \
      || echo "warning: npm ci failed; the accessibility scans will be skipped" >&2
  else
    echo "warning: no npm; the accessibility scans will be skipped" >&2
  fi
fi

# The compiler sandbox (adapters/sandbox.py) runs tools under bubblewrap; without it the sandbox tests that
# need it are skipped and the adapter falls back to rlimits only.
if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step "installing Debian's bubblewrap (compiler sandbox)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; } >/dev/null 2>&1 \
    || echo "warning: could not install bubblewrap; the sandbox tests that need it will be skipped" >&2
fi

step "ruff check"
.venv/bin/ruff check . || fail "ruff check"

step "makemigrations --check"
OPM_VAR_DIR="$scratch/var" .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
  || fail "a model change has no migration (run manage.py makemigrations)"

step "manage.py check"
OPM_VAR_DIR="$scratch/var" .venv/bin/python manage.py check || fail "manage.py check"

# Runs pytest against one database; prints and records "<label>: N passed, N failed[, N skipped]".
run_suite() {
  local label="$1" url="$2" junit="$scratch/$1.xml" rc line
  shift 2
  step "pytest on $label"
  DATABASE_URL="$url" OPM_VAR_DIR="$scratch/var-$label" \
    .venv/bin/python -m pytest --junitxml="$junit" -q "$@"
  rc=$?
  line="$(.venv/bin/python scripts/junit_summary.py "$label" "$junit")"
  summary+=("$line")
  if [ "$rc" -eq 5 ]; then fail "$label: pytest collected no tests"; 
  elif [ "$rc" -ne 0 ]; then fail "$label: pytest exited $rc"; fi
}

# adapters/ is the participant side and never touches a database, so its tests run once; the server's
# suite runs on each database. Arguments select tests themselves and then run on both databases.
if [ "$#" -eq 0 ]; then
  run_suite adapters "sqlite:///$scratch/unused.sqlite3" adapters/tests
  set -- tests
fi

run_suite sqlite "sqlite:///$scratch/opm.sqlite3" "$@"

if .venv/bin/python scripts/pgdb.py create "$PG_URL_BASE" "$pg_db"; then
  pg_created=1
  run_suite postgresql "$PG_URL_BASE/$pg_db" "$@"
elif [ "${OPM_REQUIRE_POSTGRES:-0}" = "1" ]; then
  fail "PostgreSQL at $PG_URL_BASE is unreachable and OPM_REQUIRE_POSTGRES=1"
  summary+=("postgresql: 0 passed, 1 failed")
else
  echo "!!! PostgreSQL at $PG_URL_BASE is unreachable: SKIPPING the PostgreSQL run (concurrency untested) !!!" >&2
  summary+=("postgresql: skipped (unreachable)")
fi

echo
for line in "${summary[@]}"; do echo "$line"; done
exit "$status"
