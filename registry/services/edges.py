"""The pass graph: requires-before and conflicts-with edges, and checking a plan against them."""

from collections.abc import Sequence

from django.db import transaction

from opm_site.errors import ErrorCode, OpmError
from registry.models import DependencyKind, PassDependency, PassSpec


def _describe(source: str, kind: str, target: str) -> str:
    return f"{source} {kind.replace('_', '-')} {target}"


def _reaches(graph: dict[int, set[int]], start: int, goal: int) -> list[int] | None:
    """A path start -> goal in the requires-before graph, or None (iterative DFS)."""
    stack, parent = [start], {start: None}
    while stack:
        node = stack.pop()
        if node == goal:
            path = [node]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])
            return path[::-1]
        for nxt in graph.get(node, ()):
            if nxt not in parent:
                parent[nxt] = node
                stack.append(nxt)
    return None


def pass_dependency_add(*, source: PassSpec, target: PassSpec, kind: str, rationale: str = "") -> PassDependency:
    """Add an edge; a requires-before edge that would close a cycle is rejected, naming the cycle."""
    if source.toolchain != target.toolchain:
        raise OpmError(ErrorCode.INVALID_CONTRACT, "an edge joins two passes of the same toolchain")
    if source.pk == target.pk:
        raise OpmError(ErrorCode.DEPENDENCY_CYCLE, f"{source.name} cannot depend on itself")
    with transaction.atomic():
        if kind == DependencyKind.REQUIRES_BEFORE:
            graph: dict[int, set[int]] = {}
            rows = PassDependency.objects.select_for_update().filter(kind=kind, source__toolchain=source.toolchain)
            for edge in rows:
                graph.setdefault(edge.source_id, set()).add(edge.target_id)
            path = _reaches(graph, target.pk, source.pk)
            if path is not None:
                names = dict(PassSpec.objects.filter(pk__in=path).values_list("pk", "name"))
                cycle = " -> ".join([source.name, *(names[p] for p in path)])
                raise OpmError(
                    ErrorCode.DEPENDENCY_CYCLE,
                    f"edge {_describe(source.name, kind, target.name)} would close the cycle {cycle}",
                )
        return PassDependency.objects.create(source=source, target=target, kind=kind, rationale=rationale)


def plan_check_edges(*, toolchain: str, pass_names: Sequence[str]) -> None:
    """Reject a plan that breaks an edge: `A requires-before B` means A must occur before B's first use
    when B is used; `A conflicts-with B` means not both."""
    used = set(pass_names)
    first = {}
    for position, name in enumerate(pass_names):
        first.setdefault(name, position)
    edges = PassDependency.objects.filter(source__toolchain=toolchain).select_related("source", "target")
    for edge in edges:
        a, b = edge.source.name, edge.target.name
        if edge.kind == DependencyKind.CONFLICTS_WITH and a in used and b in used:
            raise OpmError(
                ErrorCode.PLAN_VIOLATES_EDGE, f"the plan violates {_describe(a, edge.kind, b)}", edge=edge.pk
            )
        if edge.kind == DependencyKind.REQUIRES_BEFORE and b in used and (a not in used or first[a] > first[b]):
            raise OpmError(
                ErrorCode.PLAN_VIOLATES_EDGE, f"the plan violates {_describe(a, edge.kind, b)}", edge=edge.pk
            )
