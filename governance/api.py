"""The public, read-only ledger API (docs/design.md §5): checkpoint, key, entries and proofs."""

import base64
import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import selectors
from governance.log_key import log_signer
from opm_site.errors import ErrorCode, OpmError
from opm_site.openapi import problems
from opm_site.pagination import ListPagination
from opm_site.throttling import PublicRateThrottle


class PlainTextRenderer(BaseRenderer):
    """Notes and keys are published byte-exact as text; errors still render as JSON problems."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, str):
            return data.encode("utf-8")
        return json.dumps(data).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _int_param(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise OpmError(ErrorCode.INVALID_RANGE, f"query parameter {name!r} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise OpmError(ErrorCode.INVALID_RANGE, f"query parameter {name!r} must be an integer, got {raw!r}") from None


def _int_query(name: str, description: str, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.QUERY, required=required, description=description)


class EntryOutput(serializers.Serializer):
    index = serializers.IntegerField()
    leaf = serializers.JSONField(help_text="The entry: index, time, kind, actor, subject, payload.")
    leaf_b64 = serializers.CharField(help_text="The exact RFC 8785 bytes the leaf hash covers, base64.")


class EntriesOutput(serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    entries = EntryOutput(many=True)


class InclusionOutput(serializers.Serializer):
    index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField()
    hashes = serializers.ListField(child=serializers.CharField(), help_text="base64, RFC 9162 order.")


class ConsistencyOutput(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    hashes = serializers.ListField(child=serializers.CharField(), help_text="base64, RFC 9162 order.")


class PublicLedgerView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]


class CheckpointView(PublicLedgerView):
    """The latest signed checkpoint, byte-exact (C2SP tlog-checkpoint as a signed note)."""

    renderer_classes = [PlainTextRenderer]

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR, **problems(404)})
    def get(self, request: Request) -> Response:
        checkpoint = selectors.latest_checkpoint()
        if checkpoint is None:
            raise OpmError(ErrorCode.LEDGER_EMPTY, "no checkpoint has been issued yet", status=404)
        return Response(checkpoint.note)


class CheckpointOutput(serializers.Serializer):
    origin = serializers.CharField()
    size = serializers.IntegerField()
    root = serializers.SerializerMethodField(help_text="base64 root hash of the tree of this size.")
    issued_at = serializers.DateTimeField()
    note = serializers.CharField(help_text="The signed note, byte-exact as published.")

    def get_root(self, checkpoint) -> str:
        return _b64(bytes(checkpoint.root_hash))


class CheckpointsView(PublicLedgerView, ListAPIView):
    """Every checkpoint the log ever issued, oldest first (`?size=N` for one): published checkpoints are what
    protects the log against a rewrite, so none is ever withdrawn (the table rejects UPDATE and DELETE)."""

    serializer_class = CheckpointOutput
    pagination_class = ListPagination

    @extend_schema(
        parameters=[_int_query("size", "Only the checkpoint of this tree size.")],
        responses={200: CheckpointOutput(many=True), **problems(400)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        checkpoints = selectors.checkpoints()
        if self.request.query_params.get("size", "") == "":
            return checkpoints
        return checkpoints.filter(size=_int_param(self.request, "size"))


class VerifierKeyView(PublicLedgerView):
    """The log's verifier key in note format: <name>+<key ID>+<base64 key>."""

    renderer_classes = [PlainTextRenderer]

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request: Request) -> Response:
        return Response(log_signer().verifier.vkey + "\n")


class EntriesView(PublicLedgerView):
    """Entries start <= index < end with their exact leaf bytes (end defaults to one page or the size)."""

    @extend_schema(
        parameters=[_int_query("start", "First index (default 0)."), _int_query("end", "One past the last index.")],
        responses={200: EntriesOutput, **problems(400)},
    )
    def get(self, request: Request) -> Response:
        start = _int_param(request, "start", 0)
        size = selectors.ledger_size()
        end = _int_param(request, "end", min(size, max(start, 0) + selectors.MAX_ENTRIES_PER_PAGE))
        entries = selectors.ledger_entries(start=start, end=end)
        return Response(
            {
                "start": start,
                "end": end,
                "tree_size": size,
                "entries": [
                    {"index": e.index, "leaf": json.loads(bytes(e.leaf)), "leaf_b64": _b64(bytes(e.leaf))}
                    for e in entries
                ],
            }
        )


class InclusionProofView(PublicLedgerView):
    """RFC 9162 inclusion proof of entry `index` in the tree of `tree_size` (default: the whole log)."""

    @extend_schema(
        parameters=[_int_query("index", "The entry.", required=True), _int_query("tree_size", "Default: the log.")],
        responses={200: InclusionOutput, **problems(400)},
    )
    def get(self, request: Request) -> Response:
        index = _int_param(request, "index")
        tree_size = _int_param(request, "tree_size", selectors.ledger_size())
        entry, size, hashes = selectors.inclusion_proof(index=index, tree_size=tree_size)
        return Response(
            {
                "index": index,
                "tree_size": size,
                "leaf_hash": _b64(bytes(entry.leaf_hash)),
                "hashes": [_b64(h) for h in hashes],
            }
        )


class ConsistencyProofView(PublicLedgerView):
    """RFC 9162 consistency proof between the trees of sizes `first` and `second`."""

    @extend_schema(
        parameters=[
            _int_query("first", "Older size.", required=True),
            _int_query("second", "Newer size.", required=True),
        ],
        responses={200: ConsistencyOutput, **problems(400)},
    )
    def get(self, request: Request) -> Response:
        first = _int_param(request, "first")
        second = _int_param(request, "second")
        hashes = selectors.consistency_proof(first=first, second=second)
        return Response({"first": first, "second": second, "hashes": [_b64(h) for h in hashes]})
