"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

A signed note is a text ending in a newline, a blank line, then signature lines
``— <key name> <base64(key ID || signature)>``. The key ID is
SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]. Keys travel as Go's
``golang.org/x/mod/sumdb/note`` strings, so our keys and notes work with stock tools:

* verifier key: ``<name>+<8 hex key ID>+<base64(0x01 || public key)>``
* signer key:   ``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || private seed)>``

Opening follows the spec and Go's ``note.Open``: signatures by unknown keys are kept aside,
a known key's bad signature rejects the note, and at least one known key must have signed.
We are stricter than Go in one way, so that a verified note has exactly one byte encoding:
base64 must be canonical (no stray padding bits) and key IDs lowercase hex.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
"""The signature type byte of Ed25519 notes."""

SIGNATURE_PREFIX = "— "
"""Em dash (U+2014) and a space: the start of every signature line."""

MAX_SIGNATURES = 100
"""Notes with more signature lines are rejected (the spec requires accepting at least 16)."""

_KEY_ID_RE = re.compile(r"[0-9a-f]{8}")
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64


class NoteError(ValueError):
    """A malformed note or key, a note with a bad signature, or one no known key signed."""


def is_valid_name(name: str) -> bool:
    """Key names are non-empty and contain no Unicode space, plus sign or control character."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in name)
    )


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    """SHA-256(name || 0x0A || alg || public key)[:4]: the recommended key ID of a key of signature type `alg`
    (0x01 for note signatures; tlog-cosignature's 0x04 for cosignatures by the same kind of key)."""
    encoded = name.encode() + b"\n" + bytes([alg]) + public_key
    return hashlib.sha256(encoded).digest()[:4]


def encode_base64(data: bytes) -> str:
    """Standard base64 with padding, as notes and keys carry it."""
    return base64.b64encode(data).decode("ascii")


def decode_base64(text: str, what: str) -> bytes:
    """Standard base64 that must be canonical, so that each value has a single encoding."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise NoteError(f"{what} is not valid base64") from None
    if encode_base64(data) != text:
        raise NoteError(f"{what} is not canonical base64")
    return data


def parse_key_fields(fields: list[str], what: str, alg: int = ALG_ED25519) -> tuple[str, bytes, bytes]:
    """Parse ``name, hex key ID, base64(alg || 32 bytes)`` into (name, key ID, key bytes)."""
    if len(fields) != 3:
        raise NoteError(f"malformed {what}: expected <name>+<key ID>+<key>")
    name, hex_id, key64 = fields
    if not is_valid_name(name):
        raise NoteError(f"malformed {what}: invalid key name {name!r}")
    if not _KEY_ID_RE.fullmatch(hex_id):
        raise NoteError(f"malformed {what}: key ID must be 8 lowercase hex digits")
    key = decode_base64(key64, f"{what} key")
    if len(key) != 1 + ED25519_KEY_SIZE or key[0] != alg:
        raise NoteError(f"malformed {what}: not an Ed25519 key of type 0x{alg:02x}")
    return name, bytes.fromhex(hex_id), key[1:]


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key that checks note signatures."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if len(self.public_key) != ED25519_KEY_SIZE:
            raise NoteError("an Ed25519 public key is 32 bytes")
        if self.key_id != key_id(self.name, self.public_key):
            raise NoteError(f"key ID does not match the key named {self.name!r}")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError:
            raise NoteError("not a valid Ed25519 public key") from None

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Self:
        """The verifier for a raw 32-byte Ed25519 public key, with the recommended key ID."""
        return cls(name, key_id(name, public_key), public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse ``<name>+<8 hex key ID>+<base64(0x01 || public key)>``; the ID must match."""
        name, kid, public_key = parse_key_fields(vkey.split("+", 2), "verifier key")
        return cls(name, kid, public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string, as published in ``log.vkey``."""
        key64 = encode_base64(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{key64}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's Ed25519 signature of `text`."""
        if len(signature) != ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key that signs notes. Keep the skey string secret."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if len(self.seed) != ED25519_KEY_SIZE:
            raise NoteError("an Ed25519 private seed is 32 bytes")

    @classmethod
    def from_skey(cls, skey: str) -> Self:
        """Parse ``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || seed)>``.

        The key ID is checked against the public key derived from the seed.
        """
        parts = skey.split("+", 4)
        if parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed signer key: must start with PRIVATE+KEY+")
        name, kid, seed = parse_key_fields(parts[2:], "signer key")
        signer = cls(name, seed)
        if kid != signer.key_id:
            raise NoteError("malformed signer key: key ID does not match the key")
        return signer

    @cached_property
    def _private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @cached_property
    def verifier(self) -> Verifier:
        """The matching public verifier."""
        return Verifier.from_public_key(self.name, self._private_key.public_key().public_bytes_raw())

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID of the matching public key."""
        return self.verifier.key_id

    @property
    def skey(self) -> str:
        """The signer key string, for a key file."""
        key64 = encode_base64(bytes([ALG_ED25519]) + self.seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{key64}"

    def sign(self, text: bytes) -> bytes:
        """The Ed25519 signature of `text` (64 bytes)."""
        return self._private_key.sign(text)


def generate_signer_key(name: str) -> tuple[str, str]:
    """A new Ed25519 key pair as (skey, vkey) strings, like Go's note.GenerateKey."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    signer = Signer(name, seed)
    return signer.skey, signer.verifier.vkey


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and ID and the raw signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, newline included."""
        return f"{SIGNATURE_PREFIX}{self.name} {encode_base64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text and the signatures verified by known keys (and the others)."""

    text: str
    sigs: tuple[Signature, ...]
    unverified_sigs: tuple[Signature, ...] = ()


def _check_text(text: str) -> bytes:
    """The note text as UTF-8: it ends in a newline and has no other control characters."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("note text is not valid UTF-8") from None
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text contains a control character")
    return encoded


def sign_note(text: str, signer: Signer) -> bytes:
    """The signed note: text, a blank line and the signer's signature line."""
    encoded = _check_text(text)
    signature = Signature(signer.name, signer.key_id, signer.sign(encoded))
    return encoded + b"\n" + signature.line.encode()


def _verifier_map(verifiers: Verifier | Iterable[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    if isinstance(verifiers, Verifier):
        verifiers = [verifiers]
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        other = known.setdefault((verifier.name, verifier.key_id), verifier)
        if other != verifier:
            raise NoteError(f"ambiguous key {verifier.name}+{verifier.key_id.hex()}")
    return known


def parse_signature_line(line: str) -> Signature:
    """One signature line without its newline: ``— <name> <base64(key ID || signature)>``."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("malformed note: signature line does not start with an em dash and space")
    name, _, sig64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not is_valid_name(name):
        raise NoteError(f"malformed note: invalid key name {name!r} in a signature line")
    raw = decode_base64(sig64, "signature") if sig64 else b""
    if len(raw) < 5:
        raise NoteError("malformed note: signature is too short")
    return Signature(name, raw[:4], raw[4:])


def split_note(msg: bytes) -> tuple[str, list[Signature]]:
    """A signed note's text and its parsed signature lines, nothing verified: the shared first step of opening
    a note and of checking cosignatures on it (adapters.ledger.cosignature)."""
    try:
        decoded = msg.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("malformed note: not valid UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in decoded):
        raise NoteError("malformed note: contains a control character")
    # The text ends at the last blank line; the signature block follows it.
    split = decoded.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("malformed note: signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    return text, [parse_signature_line(line) for line in lines]


def open_note(msg: bytes, verifiers: Verifier | Iterable[Verifier]) -> Note:
    """Parse a signed note and check its signatures against the known verifiers.

    Raises NoteError if the note is malformed, a known key's signature is invalid, or no known key signed it.
    Signatures by other keys (a witness's cosignature among them) are returned unverified, as the spec requires.
    """
    known = _verifier_map(verifiers)
    text, signatures = split_note(msg)
    text_bytes = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for signature in signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            if signature not in unverified:
                unverified.append(signature)
            continue
        if any(s.name == signature.name and s.key_id == signature.key_id for s in verified):
            continue  # one verdict per key, as in Go's note.Open
        if not verifier.verify(text_bytes, signature.signature):
            raise NoteError(f"invalid signature for key {signature.name}+{signature.key_id.hex()}")
        verified.append(signature)
    if not verified:
        raise NoteError("note has no signature from a known key")
    return Note(text, tuple(verified), tuple(unverified))
