"""The Merkle tree's hash store in the database: adapters.ledger.merkle's HashReader over LedgerNode."""

from django.db.models import Q

from adapters.ledger.merkle import Node
from governance.models import LedgerNode


def read_nodes(nodes: list[Node]) -> list[bytes]:
    """Stored hashes of the given (level, index) nodes, in order, with one query."""
    if not nodes:
        return []
    wanted = Q()
    for level, index in nodes:
        wanted |= Q(level=level, index=index)
    found = {(row.level, row.index): bytes(row.hash) for row in LedgerNode.objects.filter(wanted)}
    return [found[node] for node in nodes]
