"""`manage.py tls ensure`: a self-signed certificate for local TLS serving, made once (the operator may bring
their own via OPM_TLS_CERT / OPM_TLS_KEY)."""

import datetime as dt
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Make sure a TLS certificate and key exist for `bash run.sh serve` (self-signed for localhost if not)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{ensure}")
        sub.add_parser("ensure", help="Create a self-signed localhost certificate unless one is configured.")

    def handle(self, *args, **options) -> None:
        cert_path, key_path = settings.OPM_TLS_CERT, settings.OPM_TLS_KEY
        if cert_path.exists() and key_path.exists():
            self.stdout.write(f"TLS certificate: {cert_path}")
            return
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.stdout.write(self.style.SUCCESS(f"made a self-signed certificate for localhost: {cert_path}"))
