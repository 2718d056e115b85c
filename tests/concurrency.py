"""Racing threads for the PostgreSQL concurrency tests."""

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection

from opm_site.errors import OpmError


def race(work: Callable[[Any], Any], arguments: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Run `work(argument)` for each argument in a thread of its own, all released together by a barrier.
    Returns (argument, result) pairs in finishing order, the result being the error code when `work` raised
    an OpmError; every thread closes its own database connection."""
    barrier = threading.Barrier(len(arguments))
    outcomes: list[tuple[Any, Any]] = []

    def run(argument):
        try:
            barrier.wait()
            outcomes.append((argument, work(argument)))
        except OpmError as exc:
            outcomes.append((argument, exc.code))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
