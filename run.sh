#!/usr/bin/env bash
# bash run.sh         create .venv, install, migrate the SQLite default, run the demo (the main job)
# bash run.sh serve   the same set-up, then serve the site over TLS with gunicorn on https://127.0.0.1:8443/
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
    .venv/bin/python manage.py tls ensure
    cert="$(.venv/bin/python manage.py shell --no-imports -c 'from django.conf import settings as s; print(s.OPM_TLS_CERT)')"
    key="$(.venv/bin/python manage.py shell --no-imports -c 'from django.conf import settings as s; print(s.OPM_TLS_KEY)')"
    echo "==> serving https://${OPM_SERVE_ADDR:-127.0.0.1:8443}/ (public site) and /admin/ (the board; certificate: $cert)"
    exec .venv/bin/gunicorn opm_site.wsgi --bind "${OPM_SERVE_ADDR:-127.0.0.1:8443}" \
      --certfile "$cert" --keyfile "$key" --workers "${OPM_WORKERS:-2}" --access-logfile - "$@"
    ;;
  *)
    echo "usage: bash run.sh [demo|serve]" >&2
    exit 2
    ;;
esac
