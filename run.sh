#!/usr/bin/env bash
# bash run.sh         create .venv, install, migrate the SQLite default, run the demo (the main job)
# bash run.sh serve   the same set-up, then serve the site on http://127.0.0.1:8000/
set -euo pipefail
cd "$(dirname "$0")"
source scripts/env.sh

opm_venv server
echo "==> migrating the database (${DATABASE_URL:-SQLite under var/})"
.venv/bin/python manage.py migrate --no-input

case "${1:-demo}" in
  demo)
    shift || true
    .venv/bin/python manage.py demo "$@"
    ;;
  serve)
    shift
    .venv/bin/python manage.py collectstatic --no-input --verbosity 0
    exec .venv/bin/python manage.py runserver --insecure "${OPM_SERVE_ADDR:-127.0.0.1:8000}" "$@"
    ;;
  *)
    echo "usage: bash run.sh [demo|serve]" >&2
    exit 2
    ;;
esac
