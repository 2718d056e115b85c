"""Asserting that the database itself (not the ORM) rejects a row."""

from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction


def assert_db_rejects(make: Callable[[], object], constraint: str | None = None) -> None:
    """`make()` must raise IntegrityError; when named, the violated constraint appears in the message.

    SQLite names only check constraints in its messages, so the name is checked for those alone.
    """
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        make()
    # "check constraint", not "check": a table name (orchestration_checkpointcosignature) may contain the word.
    if constraint and "CHECK CONSTRAINT" in str(excinfo.value).upper():
        assert constraint in str(excinfo.value)
