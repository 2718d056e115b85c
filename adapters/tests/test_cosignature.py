"""adapters.ledger.cosignature: C2SP tlog-cosignature v1 (Ed25519) lines, keys and cosigned checkpoints."""

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger.checkpoint import Checkpoint, sign_checkpoint
from adapters.ledger.cosignature import (
    COSIGNATURE_SIZE,
    MAX_TIMESTAMP,
    Cosignature,
    CosignatureError,
    WitnessVerifier,
    cosign,
    cosigned_note,
    signed_message,
    verify_cosigned,
    witness_key_id,
    witness_name,
)
from adapters.ledger.note import NoteError, Signer, generate_signer_key, key_id, open_note, split_note

# The example in the spec (tlog-cosignature, "Format" and "Ed25519 signed message"): a checkpoint, the log's
# signature and a witness's cosignature whose timestamp the spec's signed message shows as `time 1679315147`.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_LOG_LINE = (
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SPEC_COSIGNATURE_LINE = (
    "— witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)

LOG = Signer.from_skey(generate_signer_key("market.test/log")[0])
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes_raw()
NAME = witness_name("market.test/log", "acme", 7)
WITNESS = WitnessVerifier.from_public_key(NAME, PUBLIC)
BODY = Checkpoint("market.test/log", 5, bytes(32)).text
NOTE = sign_checkpoint(Checkpoint("market.test/log", 5, bytes(32)), LOG)
TIME = 1_700_000_000


# --- the spec's example -----------------------------------------------------------------------------------------


def test_the_spec_example_line_parses_to_its_key_id_and_the_time_its_message_shows() -> None:
    cosignature = Cosignature.from_line(SPEC_COSIGNATURE_LINE)
    assert cosignature.name == "witness.example.com/w1"
    assert cosignature.key_id == base64.b64decode(SPEC_COSIGNATURE_LINE.split()[-1])[:4]
    assert cosignature.timestamp == 1679315147
    assert len(cosignature.signature) == 64
    assert cosignature.line == SPEC_COSIGNATURE_LINE  # canonical: parsing and printing round-trip the bytes
    assert signed_message(SPEC_BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_the_spec_example_note_splits_into_the_log_signature_and_the_cosignature() -> None:
    note = (SPEC_BODY + "\n" + SPEC_LOG_LINE + SPEC_COSIGNATURE_LINE).encode()
    text, signatures = split_note(note)
    assert text == SPEC_BODY
    assert [s.name for s in signatures] == ["example.com/behind-the-sofa", "witness.example.com/w1"]
    assert len(signatures[0].signature) == 64  # a note signature: key ID and 64 bytes
    assert len(signatures[1].signature) == 8 + 64  # a cosignature: key ID, timestamp and 64 bytes
    assert signatures[1].line == SPEC_COSIGNATURE_LINE


# --- keys and names -----------------------------------------------------------------------------------------------


def test_key_id_is_sha256_of_name_newline_0x04_and_key() -> None:
    expected = hashlib.sha256(NAME.encode() + b"\n\x04" + PUBLIC).digest()[:4]
    assert witness_key_id(NAME, PUBLIC) == expected == WITNESS.key_id
    assert expected != key_id(NAME, PUBLIC)  # the same key's note key ID (0x01) differs


def test_vkey_round_trips_and_carries_type_0x04() -> None:
    vkey = WITNESS.vkey
    name, hex_id, key64 = vkey.split("+", 2)
    assert (name, hex_id) == (NAME, WITNESS.key_id.hex())
    assert base64.b64decode(key64) == b"\x04" + PUBLIC
    assert WitnessVerifier.from_vkey(vkey) == WITNESS


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda v: "+".join([v.split("+", 2)[0], "00000000", v.split("+", 2)[2]]), "does not match"),
        (lambda v: v.rsplit("+", 1)[0] + "+" + base64.b64encode(b"\x01" + PUBLIC).decode(), "type 0x04"),
        (lambda v: v[:-1], "base64"),
        (lambda v: "+".join(v.split("+", 2)[:2]), "expected <name>"),
    ],
)
def test_malformed_witness_keys_are_rejected(mangle, message: str) -> None:
    with pytest.raises(CosignatureError, match=message):
        WitnessVerifier.from_vkey(mangle(WITNESS.vkey))


def test_witness_names_are_stable_valid_and_refuse_what_would_break_them() -> None:
    assert witness_name("market.test/log", "acme", 7) == "market.test/log/witness/acme/7"
    for participant, deployment in [("ac me", 1), ("a+b", 1), ("a/b", 1), ("", 1), ("acme", 0), ("acme", True)]:
        with pytest.raises(CosignatureError):
            witness_name("market.test/log", participant, deployment)


# --- signing and verifying ------------------------------------------------------------------------------------------


def test_cosign_signs_the_spec_message_with_the_key() -> None:
    cosignature = cosign(BODY, name=NAME, private_key=KEY, timestamp=TIME)
    Ed25519PublicKey.from_public_bytes(PUBLIC).verify(
        cosignature.signature, b"cosignature/v1\ntime 1700000000\n" + BODY.encode()
    )
    raw = base64.b64decode(cosignature.line.split(" ")[-1])
    assert len(raw) == COSIGNATURE_SIZE == 76
    assert raw[:4] == WITNESS.key_id and struct.unpack(">Q", raw[4:12]) == (TIME,) and raw[12:] == cosignature.signature
    assert cosignature.line.startswith(f"— {NAME} ") and cosignature.line.endswith("\n")
    WITNESS.verify(BODY, Cosignature.from_line(cosignature.line))


def test_only_checkpoints_are_cosigned() -> None:
    with pytest.raises(CosignatureError, match="only checkpoints"):
        cosign("hello\n", name=NAME, private_key=KEY, timestamp=TIME)


@pytest.mark.parametrize("timestamp", [-1, MAX_TIMESTAMP + 1, 1.5, True])
def test_timestamps_outside_u63_are_refused(timestamp) -> None:
    with pytest.raises(CosignatureError, match="timestamp"):
        cosign(BODY, name=NAME, private_key=KEY, timestamp=timestamp)


def test_a_cosignature_does_not_verify_for_another_body_time_name_or_key() -> None:
    good = cosign(BODY, name=NAME, private_key=KEY, timestamp=TIME)
    other_body = Checkpoint("market.test/log", 6, bytes(32)).text
    with pytest.raises(CosignatureError, match="does not verify"):
        WITNESS.verify(other_body, good)
    with pytest.raises(CosignatureError, match="does not verify"):
        WITNESS.verify(BODY, Cosignature(good.name, good.key_id, TIME + 1, good.signature))
    with pytest.raises(CosignatureError, match="not 'market.test/log/witness/acme/8'"):
        WitnessVerifier.from_public_key(witness_name("market.test/log", "acme", 8), PUBLIC).verify(BODY, good)
    other_key = Ed25519PrivateKey.generate()
    with pytest.raises(CosignatureError, match="key ID"):
        WITNESS.verify(BODY, cosign(BODY, name=NAME, private_key=other_key, timestamp=TIME))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("- witness AAAA\n", "em dash"),
        ("— witness\n", "76 bytes"),
        ("— wit ness AAAA\n", "base64"),
        ("— witness " + base64.b64encode(bytes(75)).decode(), "76 bytes"),
        ("— witness " + base64.b64encode(bytes(77)).decode(), "76 bytes"),
        ("— witness " + base64.b64encode(bytes(76)).decode()[:-1] + "\n", "base64"),
        ("— witness " + base64.b64encode(bytes(76)).decode() + "\n\n", "one line"),
        ("— a+b " + base64.b64encode(bytes(76)).decode(), "invalid key name"),
    ],
)
def test_malformed_lines_are_rejected(line: str, message: str) -> None:
    with pytest.raises(CosignatureError, match=message):
        Cosignature.from_line(line)


def test_non_canonical_base64_is_rejected() -> None:
    line = cosign(BODY, name=NAME, private_key=KEY, timestamp=TIME).line
    value = line.split(" ")[-1].strip()
    # 76 bytes encode to 104 characters ending in "=="; the last data character carries 4 unused bits.
    assert value.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = value[-3]
    twin = alphabet[alphabet.index(last) ^ 1]  # same decoded bytes, a stray padding bit set
    assert base64.b64decode(value[:-3] + twin + "==") == base64.b64decode(value)
    with pytest.raises(CosignatureError, match="canonical"):
        Cosignature.from_line(line.replace(value, value[:-3] + twin + "=="))


@settings(max_examples=50, deadline=None)
@given(
    timestamp=st.integers(min_value=0, max_value=MAX_TIMESTAMP),
    size=st.integers(min_value=0, max_value=2**63 - 1),
    root=st.binary(min_size=32, max_size=32),
    seed=st.binary(min_size=32, max_size=32),
)
def test_cosignatures_round_trip_and_bind_body_and_time(timestamp: int, size: int, root: bytes, seed: bytes) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    witness = WitnessVerifier.from_public_key(NAME, key.public_key().public_bytes_raw())
    body = Checkpoint("market.test/log", size, root).text
    cosignature = cosign(body, name=NAME, private_key=key, timestamp=timestamp)
    parsed = Cosignature.from_line(cosignature.line)
    assert parsed == cosignature and parsed.line == cosignature.line
    witness.verify(body, parsed)
    moved = timestamp + 1 if timestamp < MAX_TIMESTAMP else timestamp - 1
    with pytest.raises(CosignatureError):
        witness.verify(body, Cosignature(NAME, parsed.key_id, moved, parsed.signature))
    with pytest.raises(CosignatureError):
        witness.verify(Checkpoint("market.test/log", size, bytes(b ^ 1 for b in root)).text, parsed)


# --- cosigned checkpoints -------------------------------------------------------------------------------------------


def test_a_cosigned_note_opens_with_the_log_key_and_its_cosignatures_verify() -> None:
    first = cosign(BODY, name=NAME, private_key=KEY, timestamp=TIME)
    other_key = Ed25519PrivateKey.generate()
    other_name = witness_name("market.test/log", "globex", 9)
    second = cosign(BODY, name=other_name, private_key=other_key, timestamp=TIME + 5)
    served = cosigned_note(NOTE, [first, second])
    assert served == NOTE + first.line.encode() + second.line.encode()
    note = open_note(served, LOG.verifier)  # a plain note verifier keeps the cosignatures aside
    assert note.text == BODY and len(note.unverified_sigs) == 2
    other = WitnessVerifier.from_public_key(other_name, other_key.public_key().public_bytes_raw())
    text, verified = verify_cosigned(served, LOG.verifier, [WITNESS, other])
    assert text == BODY and verified == [first, second]
    assert verify_cosigned(served, LOG.verifier, [other])[1] == [second]  # unknown witnesses are ignored


def test_a_bad_cosignature_by_a_known_witness_rejects_the_note() -> None:
    stale = cosign(Checkpoint("market.test/log", 4, bytes(32)).text, name=NAME, private_key=KEY, timestamp=TIME)
    with pytest.raises(CosignatureError, match="does not verify"):
        verify_cosigned(cosigned_note(NOTE, [stale]), LOG.verifier, [WITNESS])
    with pytest.raises(NoteError, match="no signature from a known key"):
        verify_cosigned(cosigned_note(NOTE, [stale]), Signer.from_skey(generate_signer_key("x")[0]).verifier, [])
