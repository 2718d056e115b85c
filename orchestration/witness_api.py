"""Witnesses in the API: a deployment cosigns checkpoints its adapter verified; anyone reads them back.

Mounted under /api/v1/ledger/ next to the ledger's own endpoints (opm_site/urls.py), but part of orchestration:
the cosignatures belong to deployments. The byte-exact `/api/v1/ledger/checkpoint` stays the log's note alone;
`/api/v1/ledger/checkpoint/cosigned` serves it with the witnesses' cosignature lines appended (tlog-witness).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adapters.ledger.cosignature import Cosignature, WitnessVerifier, cosigned_note
from governance import selectors as ledger_selectors
from governance.api import PlainTextRenderer
from opm_site.errors import ErrorCode, OpmError
from opm_site.openapi import problems
from opm_site.pagination import ListPagination
from opm_site.throttling import PublicRateThrottle
from orchestration import selectors, services
from orchestration.api import DeploymentView
from orchestration.models import CheckpointCosignature

MAX_SERVED_COSIGNATURES = 99
"""A served note keeps within the 100 signature lines note verifiers accept (ours refuses more): the log's line
and the first 99 cosignatures to arrive. Every cosignature stays listed in the database and the admin."""


def _cosignature(row: CheckpointCosignature) -> Cosignature:
    return Cosignature(row.witness_name, bytes(row.key_id), row.timestamp, bytes(row.signature))


class WitnessOutput(serializers.Serializer):
    participant = serializers.CharField()
    deployment = serializers.IntegerField()
    name = serializers.CharField(help_text="The key name to cosign under: <log origin>/witness/<participant>/<id>.")
    key_id = serializers.CharField(help_text="8 hex digits: SHA-256(name || 0x0A || 0x04 || public key)[:4].")
    vkey = serializers.CharField(help_text="The witness verifier key, <name>+<key ID>+<base64(0x04 || key)>.")
    cosigned = serializers.IntegerField(
        allow_null=True, help_text="The largest checkpoint size this deployment cosigned, or null."
    )


class WitnessView(DeploymentView):
    """The calling deployment's witness identity: the name and key it cosigns checkpoints under."""

    @extend_schema(responses={200: WitnessOutput, **problems(400)})
    def get(self, request: Request) -> Response:
        deployment = request.auth
        verifier = WitnessVerifier.from_public_key(
            selectors.deployment_witness_name(deployment=deployment), bytes(deployment.public_key)
        )
        cosigned = selectors.deployment_cosigned_size(deployment=deployment)
        return Response(
            WitnessOutput(
                {
                    "participant": deployment.participant.name,
                    "deployment": deployment.pk,
                    "name": verifier.name,
                    "key_id": verifier.key_id.hex(),
                    "vkey": verifier.vkey,
                    "cosigned": cosigned,
                }
            ).data
        )


class CosignatureInput(serializers.Serializer):
    size = serializers.IntegerField(min_value=0, max_value=2**63 - 1, help_text="The checkpoint's tree size.")
    cosignature = serializers.CharField(
        max_length=400,
        trim_whitespace=False,
        help_text="The cosignature/v1 signature line, `— <name> <base64(key ID || u64 time || signature)>`.",
    )


class CosignatureOutput(serializers.Serializer):
    size = serializers.IntegerField()
    witness = serializers.CharField()
    key_id = serializers.CharField()
    timestamp = serializers.IntegerField()


class CosignaturesView(DeploymentView):
    """Cosign a checkpoint this deployment's adapter verified (C2SP tlog-cosignature v1, Ed25519, by the
    deployment's signing key under its witness name). The same line again answers 200; a different one for a
    checkpoint this deployment already cosigned, 409."""

    @extend_schema(
        request=CosignatureInput,
        responses={201: CosignatureOutput, 200: CosignatureOutput, **problems(400, 401, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "A cosignature of checkpoint 42",
                request_only=True,
                value={
                    "size": 42,
                    "cosignature": "— openpassmarket.example/log/witness/acme/3 "
                    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
                    "qhf5nNo0xUe+mbIUBkBIfZ+qnA==",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = CosignatureInput(data=request.data)
        data.is_valid(raise_exception=True)
        row, created = services.checkpoint_cosign(
            deployment=request.auth, size=data.validated_data["size"], line=data.validated_data["cosignature"]
        )
        document = {
            "size": data.validated_data["size"],
            "witness": row.witness_name,
            "key_id": bytes(row.key_id).hex(),
            "timestamp": row.timestamp,
        }
        return Response(document, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PublicWitnessView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]


def _size_param(request: Request) -> int | None:
    raw = request.query_params.get("size", "")
    if raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > 2**63 - 1:
        raise OpmError(ErrorCode.INVALID_RANGE, f"query parameter 'size' must be a tree size, got {raw!r}")
    return int(raw)


class CosignedCheckpointView(PublicWitnessView):
    """The latest checkpoint (or `?size=N`'s) with its witnesses' cosignature lines appended after the log's
    signature (C2SP tlog-witness style); check them with the keys at /api/v1/ledger/witnesses."""

    renderer_classes = [PlainTextRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "size", OpenApiTypes.INT, OpenApiParameter.QUERY, description="This tree size's checkpoint."
            )
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR, **problems(400, 404)},
    )
    def get(self, request: Request) -> Response:
        size = _size_param(request)
        if size is None:
            checkpoint = ledger_selectors.latest_checkpoint()
            if checkpoint is None:
                raise OpmError(ErrorCode.LEDGER_EMPTY, "no checkpoint has been issued yet", status=404)
        else:
            checkpoint = ledger_selectors.checkpoint_of_size(size=size)
        rows = selectors.checkpoint_cosignatures(checkpoint=checkpoint)[:MAX_SERVED_COSIGNATURES]
        note = cosigned_note(checkpoint.note.encode("utf-8"), [_cosignature(row) for row in rows])
        return Response(note.decode("utf-8"))


class WitnessKeyOutput(serializers.Serializer):
    participant = serializers.CharField()
    deployment = serializers.IntegerField()
    name = serializers.CharField(source="verifier.name")
    key_id = serializers.SerializerMethodField()
    vkey = serializers.CharField(source="verifier.vkey", help_text="<name>+<key ID>+<base64(0x04 || key)>.")
    current = serializers.BooleanField(help_text="The deployment's signing key now (false: held before a rotation).")
    active = serializers.BooleanField(help_text="The deployment and its participant are active.")

    def get_key_id(self, key) -> str:
        return key.verifier.key_id.hex()


class WitnessesView(PublicWitnessView, ListAPIView):
    """Every witness verifier key (each deployment's current key and any key it cosigned with before a
    rotation), so that anyone can check the served cosignatures offline."""

    serializer_class = WitnessKeyOutput
    pagination_class = ListPagination

    def get_queryset(self):
        return selectors.witness_keys()
