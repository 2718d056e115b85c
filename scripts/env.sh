# Sourced by run.sh and test.sh: find Python >= 3.12 and keep .venv installed for a set of extras.

opm_python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

# Prints the path of an interpreter >= 3.12, or exits 2 saying what to install.
opm_find_python() {
  local candidate pyenv_root
  pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  if command -v pyenv >/dev/null 2>&1; then pyenv_root="$(pyenv root)"; fi
  for candidate in python3.14 python3.13 python3.12 \
      $(ls -d "$pyenv_root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) python3; do
    if opm_python_ok "$candidate"; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  echo "error: OpenPassMarket needs Python 3.12 or newer (Django 6.1); found none." >&2
  echo "       Install one, e.g. 'apt-get install python3.12 python3.12-venv' or 'pyenv install 3.13'." >&2
  exit 2
}

# Creates .venv (recreating one built on too old a Python) and installs the project with the given
# extras; skips pip when pyproject.toml and the extras are unchanged since the last install.
opm_venv() {
  local extras="$1" python stamp want
  if [ -x .venv/bin/python ] && ! opm_python_ok .venv/bin/python; then
    echo "==> .venv was built on Python < 3.12; recreating it"
    rm -rf .venv
  fi
  if [ ! -x .venv/bin/python ]; then
    python="$(opm_find_python)"
    echo "==> creating .venv with $("$python" --version)"
    "$python" -m venv .venv
  fi
  stamp=".venv/.opm-installed"
  want="$(cat pyproject.toml | sha256sum | cut -c1-16) $extras"
  if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
    echo "==> installing openpassmarket[$extras] into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
    PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]" 2>&1 \
      | grep -v "is ignored" || true
    .venv/bin/python -c "import django, adapters" || { echo "error: installation failed" >&2; exit 1; }
    echo "$want" >> "$stamp"
  fi
}
