"""Vendor API keys (same scheme as deployments': shown once, prefix + SHA-256 at rest)."""

from django.db import transaction

from opm_site import api_keys
from opm_site.errors import ErrorCode, OpmError
from registry.models import VendorKey


def vendor_key_issue(*, vendor: str) -> tuple[VendorKey, str]:
    if not vendor.strip():
        raise OpmError(ErrorCode.VALIDATION_FAILED, "a vendor needs a name")
    key, prefix, digest = api_keys.key_generate()
    with transaction.atomic(durable=True):
        record = VendorKey.objects.create(vendor=vendor.strip(), prefix=prefix, key_hash=digest)
    return record, key


def vendor_authenticate(*, key: str) -> VendorKey:
    parts = api_keys.key_split(key)
    record = VendorKey.objects.filter(prefix=parts[0], active=True).first() if parts else None
    if record is None or not api_keys.key_matches(parts[1], record.key_hash):
        raise OpmError(ErrorCode.INVALID_KEY, "the API key is not valid", status=401)
    return record
