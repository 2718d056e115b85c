"""Settings come from the environment; bad configuration fails in one line, production passes --deploy."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    full_env.update({"OPM_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=full_env, capture_output=True, text=True, timeout=120
    )


def test_defaults_sqlite_under_var_debug_off_and_generated_secret(tmp_path):
    code = "from django.conf import settings as s; print(s.DATABASES['default']['NAME'], s.DEBUG, len(s.SECRET_KEY))"
    result = manage("shell", "--no-imports", "-c", code, env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    name, debug, key_len = result.stdout.split()
    assert name == str(tmp_path / "var" / "opm.sqlite3")
    assert debug == "False"
    secret_file = tmp_path / "var" / "secret_key"
    assert int(key_len) >= 50 and secret_file.exists()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    again = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.SECRET_KEY)",
        env={},
        tmp_path=tmp_path,
    )
    assert again.stdout.strip() == secret_file.read_text().strip()  # stable across runs


def test_environment_overrides(tmp_path):
    code = "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.DEBUG, s.SECRET_KEY)"
    env = {"DATABASE_URL": "postgres://u:p@db.example:5433/opm", "DEBUG": "1", "SECRET_KEY": "from-env"}
    result = manage("shell", "--no-imports", "-c", code, env=env, tmp_path=tmp_path)
    assert result.stdout.split() == ["django.db.backends.postgresql", "True", "from-env"]


@pytest.mark.parametrize("url", ["bogus", "postgres://u:p@host:notaport/db", "mysql2://x"])
def test_malformed_database_url_is_one_line_error(tmp_path, url):
    result = manage("check", env={"DATABASE_URL": url}, tmp_path=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: DATABASE_URL")
    assert "Traceback" not in result.stderr


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        "OPM_PRODUCTION": "1",
        "SECRET_KEY": "x" * 20 + "-production-secret-with-enough-entropy-0123456789",
        "ALLOWED_HOSTS": "opm.example",
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_development_settings_fail_check_deploy(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={"DEBUG": "1"}, tmp_path=tmp_path)
    assert result.returncode != 0
