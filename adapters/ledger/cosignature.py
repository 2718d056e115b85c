"""C2SP transparency-log cosignatures, Ed25519 `cosignature/v1` (https://c2sp.org/tlog-cosignature).

A witness that verified a checkpoint (it extends every checkpoint the witness saw before) says so by cosigning
it. A cosignature is a signed-note signature line ``— <witness name> base64(key ID || timestamp || signature)``:

* key ID = SHA-256(name || 0x0A || 0x04 || 32-byte Ed25519 public key)[:4] (type 0x04, not a note's 0x01);
* timestamp = when it was made, POSIX seconds as a big-endian u64 (at most 2^63 - 1);
* signature = Ed25519 over ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's note body.

The message does not commit to the witness name, so one key must serve one witness name only. Verifier keys
travel like note keys with type byte 0x04: ``<name>+<8 hex key ID>+<base64(0x04 || public key)>``. A checkpoint
is served with its cosignatures by appending their lines to the log's signature lines (tlog-witness); stock note
verifiers keep them aside as signatures by unknown keys. Parsing is as strict as `note`: canonical base64 only.

In this market the witnesses are the participants' adapters, each deployment under the name `witness_name`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.ledger.checkpoint import CheckpointError, parse_checkpoint
from adapters.ledger.note import (
    ED25519_KEY_SIZE,
    ED25519_SIGNATURE_SIZE,
    SIGNATURE_PREFIX,
    NoteError,
    Verifier,
    decode_base64,
    encode_base64,
    is_valid_name,
    key_id,
    open_note,
    parse_key_fields,
    split_note,
)

ALG_COSIGNATURE_V1 = 0x04
"""The signature type byte of Ed25519 cosignature/v1 keys (in key IDs and verifier keys)."""

HEADER = "cosignature/v1"
MAX_TIMESTAMP = 2**63 - 1
_TIMESTAMP_SIZE = 8
COSIGNATURE_SIZE = 4 + _TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE
"""Decoded bytes of a cosignature line's value: key ID, timestamp, Ed25519 signature."""

WITNESS_PATH = "witness"


class CosignatureError(NoteError):
    """A malformed cosignature, witness key or witness name, or a cosignature that does not verify."""


def witness_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x04 || public key)[:4]: the key ID the spec requires for Ed25519 cosigners."""
    return key_id(name, public_key, ALG_COSIGNATURE_V1)


def witness_name(origin: str, participant: str, deployment: int) -> str:
    """The key name a deployment cosigns under: ``<log origin>/witness/<participant>/<deployment id>``.

    A schema-less URL-like name, as the spec recommends: stable across key rotations (the key ID changes, the
    name does not), public (the participant's slug and the deployment's id are in the ledger), distinct per
    deployment, so that each of a participant's keys serves one name only, and scoped to the log it witnesses.
    """
    if isinstance(deployment, bool) or not isinstance(deployment, int) or deployment < 1:
        raise CosignatureError(f"a deployment id is a positive integer, got {deployment!r}")
    if not participant or "/" in participant:
        raise CosignatureError(f"participant name {participant!r} cannot be part of a witness name")
    name = f"{origin}/{WITNESS_PATH}/{participant}/{deployment}"
    if not is_valid_name(name):
        raise CosignatureError(f"{name!r} is not a valid key name (no spaces, plus signs or control characters)")
    return name


def _check_timestamp(timestamp: int) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"a cosignature timestamp is an integer in [0, 2^63), got {timestamp!r}")
    return timestamp


def _body_bytes(body: str | bytes) -> bytes:
    """The checkpoint note body (text without signatures), checked to be a checkpoint."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        parse_checkpoint(text)
    except (UnicodeDecodeError, CheckpointError) as exc:
        raise CosignatureError(f"only checkpoints are cosigned: {exc}") from None
    return text.encode("utf-8")


def signed_message(body: str | bytes, timestamp: int) -> bytes:
    """``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint body: the bytes the witness signs."""
    return f"{HEADER}\ntime {_check_timestamp(timestamp)}\n".encode() + _body_bytes(body)


@dataclass(frozen=True)
class Cosignature:
    """One cosignature: the witness's name and key ID, the time it was made and the Ed25519 signature."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise CosignatureError(f"invalid key name {self.name!r}")
        if len(self.key_id) != 4:
            raise CosignatureError("a key ID is 4 bytes")
        _check_timestamp(self.timestamp)
        if len(self.signature) != ED25519_SIGNATURE_SIZE:
            raise CosignatureError("an Ed25519 signature is 64 bytes")

    @classmethod
    def from_line(cls, line: str) -> Self:
        """Parse ``— <name> <base64(key ID || u64 timestamp || signature)>``, with or without its newline."""
        if not isinstance(line, str):
            raise CosignatureError("a cosignature line is text")
        text = line.removesuffix("\n")
        if not text.startswith(SIGNATURE_PREFIX) or "\n" in text:
            raise CosignatureError("a cosignature is one line starting with an em dash and a space")
        name, _, value = text[len(SIGNATURE_PREFIX) :].partition(" ")
        if not is_valid_name(name):
            raise CosignatureError(f"invalid key name {name!r} in the cosignature line")
        try:
            raw = decode_base64(value, "cosignature")
        except NoteError as exc:
            raise CosignatureError(str(exc)) from None
        if len(raw) != COSIGNATURE_SIZE:
            raise CosignatureError(f"an Ed25519 cosignature is {COSIGNATURE_SIZE} bytes, this one {len(raw)}")
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        return cls(name, raw[:4], timestamp, raw[12:])

    @property
    def line(self) -> str:
        """The signature line, newline included."""
        value = encode_base64(self.key_id + struct.pack(">Q", self.timestamp) + self.signature)
        return f"{SIGNATURE_PREFIX}{self.name} {value}\n"


@dataclass(frozen=True)
class WitnessVerifier:
    """A witness's name and Ed25519 public key: checks its cosignatures."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise CosignatureError(f"invalid key name {self.name!r}")
        if len(self.public_key) != ED25519_KEY_SIZE:
            raise CosignatureError("an Ed25519 public key is 32 bytes")
        if self.key_id != witness_key_id(self.name, self.public_key):
            raise CosignatureError(f"key ID does not match the witness key named {self.name!r}")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError:
            raise CosignatureError("not a valid Ed25519 public key") from None

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Self:
        return cls(name, witness_key_id(name, public_key), public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse ``<name>+<8 hex key ID>+<base64(0x04 || public key)>``; the ID must match."""
        try:
            name, kid, public_key = parse_key_fields(vkey.split("+", 2), "witness key", ALG_COSIGNATURE_V1)
        except CosignatureError:
            raise
        except NoteError as exc:
            raise CosignatureError(str(exc)) from None
        return cls(name, kid, public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string, published so that anyone can check cosignatures offline."""
        return f"{self.name}+{self.key_id.hex()}+{encode_base64(bytes([ALG_COSIGNATURE_V1]) + self.public_key)}"

    def matches(self, cosignature: Cosignature) -> bool:
        """Whether the line claims to be this witness's (same name and key ID)."""
        return cosignature.name == self.name and cosignature.key_id == self.key_id

    def verify(self, body: str | bytes, cosignature: Cosignature) -> None:
        """Raise CosignatureError unless `cosignature` is this witness's valid cosignature of `body`."""
        if cosignature.name != self.name:
            raise CosignatureError(f"the cosignature is by {cosignature.name!r}, not {self.name!r}")
        if cosignature.key_id != self.key_id:
            raise CosignatureError(
                f"the cosignature's key ID {cosignature.key_id.hex()} is not {self.name}'s key {self.key_id.hex()}"
            )
        message = signed_message(body, cosignature.timestamp)
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(cosignature.signature, message)
        except InvalidSignature:
            raise CosignatureError(
                f"the cosignature by {self.name} does not verify over this checkpoint at time {cosignature.timestamp}"
            ) from None


def cosign(body: str | bytes, *, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> Cosignature:
    """The witness `name`'s cosignature of a checkpoint body (the note text, without signatures) at `timestamp`."""
    public_key = private_key.public_key().public_bytes_raw()
    signature = private_key.sign(signed_message(body, timestamp))
    return Cosignature(name, witness_key_id(name, public_key), timestamp, signature)


def cosigned_note(note: bytes, cosignatures: Iterable[Cosignature]) -> bytes:
    """The log's signed note with cosignature lines appended after its own signatures (tlog-witness)."""
    split_note(note)  # a well-formed note, ending in its signature block
    return note + "".join(c.line for c in cosignatures).encode("utf-8")


def verify_cosigned(
    msg: bytes, log: Verifier | Iterable[Verifier], witnesses: Iterable[WitnessVerifier]
) -> tuple[str, list[Cosignature]]:
    """Open a cosigned checkpoint: the log's signature must verify, and every line that claims to be a known
    witness's must be a valid cosignature of the body (a bad one rejects the whole note, as with note keys).
    Returns the body and the verified cosignatures, one per witness; other lines are ignored."""
    note = open_note(msg, log)
    parse_checkpoint(note.text)
    known = list(witnesses)
    verified: list[Cosignature] = []
    for signature in note.unverified_sigs:
        witness = next((w for w in known if w.name == signature.name and w.key_id == signature.key_id), None)
        if witness is None or any(witness.matches(c) for c in verified):
            continue
        line = f"{SIGNATURE_PREFIX}{signature.name} {encode_base64(signature.key_id + signature.signature)}"
        cosignature = Cosignature.from_line(line)
        witness.verify(note.text, cosignature)
        verified.append(cosignature)
    return note.text, verified


__all__ = [
    "ALG_COSIGNATURE_V1",
    "Cosignature",
    "CosignatureError",
    "WitnessVerifier",
    "cosign",
    "cosigned_note",
    "signed_message",
    "verify_cosigned",
    "witness_key_id",
    "witness_name",
]
