import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _skip_postgres_only(request):
    """Tests marked `postgres` exercise PostgreSQL-only guarantees (row locks, triggers, real concurrency)."""
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
