"""`bash run.sh serve`'s stack: gunicorn with TLS (self-signed on first run), static files by whitenoise."""

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    env = {**os.environ, "OPM_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "tls", "ensure"], env=env, check=True, capture_output=True, timeout=60)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], env=env, check=True, timeout=120)
    port = free_port()
    cert, key = tmp_path / "var" / "tls" / "cert.pem", tmp_path / "var" / "tls" / "key.pem"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "opm_site.wsgi", "--bind", f"127.0.0.1:{port}", "--certfile", str(cert), "--keyfile", str(key)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"https://127.0.0.1:{port}", cert
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serves_over_tls_that_verifies_with_the_generated_certificate(served):
    url, cert = served
    trusted = ssl.create_default_context(cafile=str(cert))
    with urllib.request.urlopen(f"{url}/api/v1/ledger/key", context=trusted, timeout=10) as response:
        assert response.status == 200 and b"+" in response.read()
    with urllib.request.urlopen(f"{url}/static/admin/css/base.css", context=trusted, timeout=10) as response:
        assert response.status == 200  # whitenoise
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{url}/api/v1/ledger/key", context=ssl.create_default_context(), timeout=10)


def test_tls_ensure_keeps_an_existing_certificate(tmp_path):
    env = {**os.environ, "OPM_VAR_DIR": str(tmp_path / "var")}
    manage = [sys.executable, str(ROOT / "manage.py"), "tls", "ensure"]
    subprocess.run(manage, env=env, check=True, capture_output=True, timeout=60)
    key = tmp_path / "var" / "tls" / "key.pem"
    first = key.read_bytes()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    subprocess.run(manage, env=env, check=True, capture_output=True, timeout=60)
    assert key.read_bytes() == first
