"""adapters.ledger.note and .checkpoint: C2SP signed notes and tlog checkpoints."""

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    format_checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from adapters.ledger.merkle import EMPTY_ROOT
from adapters.ledger.note import (
    MAX_SIGNATURES,
    Note,
    NoteError,
    Signature,
    Signer,
    Verifier,
    generate_signer_key,
    key_id,
    open_note,
    sign_note,
)

# Published in golang.org/x/mod/sumdb/note's tests (note_test.go): a key pair and the exact note
# Go signs with it. Ed25519 is deterministic, so our output must be byte-identical.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (
    GO_TEXT
    + "\n"
    + "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode()

SIGNER = Signer.from_skey(generate_signer_key("example.org/ledger")[0])
OTHER = Signer.from_skey(generate_signer_key("example.org/ledger")[0])
WITNESS = Signer.from_skey(generate_signer_key("witness.example/w1")[0])
TEXT = "example.org/ledger\n42\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n"


# --- Keys -------------------------------------------------------------------------------------


def test_go_key_vector() -> None:
    signer, verifier = Signer.from_skey(GO_SKEY), Verifier.from_vkey(GO_VKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id == bytes.fromhex("c74f20a3")
    assert key_id("PeterNeumann", verifier.public_key).hex() == "c74f20a3"
    assert signer.verifier == verifier
    assert (signer.skey, verifier.vkey) == (GO_SKEY, GO_VKEY)


def test_generated_keys_round_trip() -> None:
    skey, vkey = generate_signer_key("example.org/ledger")
    assert skey.startswith("PRIVATE+KEY+example.org/ledger+")
    signer, verifier = Signer.from_skey(skey), Verifier.from_vkey(vkey)
    assert signer.verifier == verifier and signer.key_id == verifier.key_id
    assert verifier.key_id == key_id("example.org/ledger", verifier.public_key)
    assert (
        vkey
        == f"example.org/ledger+{verifier.key_id.hex()}+" + base64.b64encode(b"\x01" + verifier.public_key).decode()
    )
    assert "PRIVATE" not in repr(signer) and skey.split("+")[-1] not in repr(signer)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0", "line\u2028sep", "nl\n"])
def test_invalid_key_names_are_rejected(name: str) -> None:
    with pytest.raises(NoteError, match="invalid key name"):
        generate_signer_key(name)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "base64"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n", "base64"),
        ("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not an Ed25519 key"),
        ("PeterNeumann+c74f20a3", "expected <name>"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid key name"),
        ("PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
    ],
)
def test_malformed_verifier_keys_are_rejected(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Verifier.from_vkey(vkey)


def test_malformed_signer_keys_are_rejected() -> None:
    with pytest.raises(NoteError, match="PRIVATE\\+KEY"):
        Signer.from_skey(GO_VKEY)
    with pytest.raises(NoteError, match="does not match"):
        Signer.from_skey(GO_SKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(NoteError, match="base64"):
        Signer.from_skey(GO_SKEY[:-1])


# --- Signing and opening ----------------------------------------------------------------------


def test_sign_matches_go_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, Signer.from_skey(GO_SKEY)) == GO_NOTE
    note = open_note(GO_NOTE, [Verifier.from_vkey(GO_VKEY)])
    assert note.text == GO_TEXT
    assert [(s.name, s.key_id.hex()) for s in note.sigs] == [("PeterNeumann", "c74f20a3")]


def test_sign_and_open_round_trip() -> None:
    msg = sign_note(TEXT, SIGNER)
    assert msg.startswith(TEXT.encode() + b"\n\xe2\x80\x94 example.org/ledger ")
    assert msg.endswith(b"\n")
    note = open_note(msg, SIGNER.verifier)
    assert note == Note(TEXT, (Signature("example.org/ledger", SIGNER.key_id, note.sigs[0].signature),))
    assert SIGNER.verifier.verify(TEXT.encode(), note.sigs[0].signature)


def test_text_may_contain_blank_lines() -> None:
    text = "first\n\nsecond\n\n"
    assert open_note(sign_note(text, SIGNER), [SIGNER.verifier]).text == text


def test_wrong_key_is_rejected() -> None:
    msg = sign_note(TEXT, SIGNER)
    # Same name, other key: a different key ID, so the signature is from an unknown key.
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(msg, [OTHER.verifier])
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(msg, [])


def test_bad_signature_from_a_known_key_rejects_the_note() -> None:
    msg = sign_note(TEXT, SIGNER)
    forged = msg.replace(TEXT.encode(), TEXT.replace("42", "43").encode())
    with pytest.raises(NoteError, match="invalid signature for key example.org/ledger"):
        open_note(forged, [SIGNER.verifier])


def test_unknown_signatures_are_kept_aside_and_duplicates_ignored() -> None:
    msg = sign_note(TEXT, SIGNER)
    cosigned = msg + sign_note(TEXT, WITNESS).split(b"\n\n")[-1]
    note = open_note(cosigned + cosigned.split(b"\n\n")[-1], [SIGNER.verifier])
    assert [s.name for s in note.sigs] == ["example.org/ledger"]
    assert [s.name for s in note.unverified_sigs] == ["witness.example/w1"]
    both = open_note(cosigned, [SIGNER.verifier, WITNESS.verifier])
    assert [s.name for s in both.sigs] == ["example.org/ledger", "witness.example/w1"]
    assert both.unverified_sigs == ()


@pytest.mark.parametrize(
    ("msg", "message"),
    [
        (b"text\n", "no blank line"),
        (b"text\n\n", "must end with a newline"),
        (b"text\n\n- example.org/ledger AAAAAAAA\n", "em dash"),
        ("text\n\n— example.org/ledger AAAA\n".encode(), "too short"),
        ("text\n\n— example.org/ledger !!!!\n".encode(), "not valid base64"),
        ("text\n\n— example.org/ledger AAAAAAB=\n".encode(), "not canonical base64"),
        ("text\n\n— example.org/ledger\n".encode(), "too short"),
        ("text\n\n— a+b AAAAAAAA\n".encode(), "invalid key name"),
        ("text\r\n\n— example.org/ledger AAAAAAAA\n".encode(), "control character"),
        (b"text\xff\n\n", "not valid UTF-8"),
        (("t\n\n" + "— example.org/ledger AAAAAAAA\n" * (MAX_SIGNATURES + 1)).encode(), "more than 100"),
    ],
)
def test_malformed_notes_are_rejected(msg: bytes, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        open_note(msg, [SIGNER.verifier])


@pytest.mark.parametrize(
    ("text", "message"),
    [("no newline", "end with a newline"), ("tab\there\n", "control character"), ("\ud800\n", "UTF-8")],
)
def test_invalid_texts_cannot_be_signed(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        sign_note(text, SIGNER)


SIGNED = sign_note(TEXT, SIGNER)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(SIGNED) - 1), st.integers(1, 255))
def test_any_flipped_byte_is_detected(position: int, mask: int) -> None:
    tampered = bytearray(SIGNED)
    tampered[position] ^= mask
    with pytest.raises(NoteError):
        open_note(bytes(tampered), [SIGNER.verifier])


# --- Checkpoints ------------------------------------------------------------------------------


def test_checkpoint_format_and_parse() -> None:
    root = bytes(range(32))
    text = format_checkpoint("example.org/ledger", 42, root)
    assert text == "example.org/ledger\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    assert parse_checkpoint(text) == Checkpoint("example.org/ledger", 42, root)
    with_ext = format_checkpoint("example.org/ledger", 0, EMPTY_ROOT, ["ext one", "ext two"])
    assert parse_checkpoint(with_ext).extensions == ("ext one", "ext two")
    assert parse_checkpoint(with_ext).text == with_ext


def test_signed_checkpoint_round_trip() -> None:
    checkpoint = Checkpoint("example.org/ledger", 7, bytes(32))
    assert open_checkpoint(sign_checkpoint(checkpoint, SIGNER), [SIGNER.verifier]) == checkpoint


ROOT64 = base64.b64encode(EMPTY_ROOT).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"o\n1\n{ROOT64}", "end with a newline"),
        ("o\n1\n", "origin, a size and a root"),
        (f"\n1\n{ROOT64}\n", "origin is empty"),
        (f"o\n01\n{ROOT64}\n", "leading zeros"),
        (f"o\n+1\n{ROOT64}\n", "leading zeros"),
        (f"o\n-1\n{ROOT64}\n", "leading zeros"),
        (f"o\n 1\n{ROOT64}\n", "leading zeros"),
        (f"o\n1_0\n{ROOT64}\n", "leading zeros"),
        (f"o\n\u0661\n{ROOT64}\n", "leading zeros"),
        (f"o\n{2**63}\n{ROOT64}\n", "larger than 2\\^63-1"),
        ("o\n1\nAAAA\n", "canonical base64 of 32"),
        (f"o\n1\n{ROOT64[:-2]}9=\n", "canonical base64 of 32"),
        ("o\n1\n!!!\n", "not valid base64"),
        (f"o\n1\n{ROOT64}\n\n", "extension line is empty"),
        (f"o\n1\n{ROOT64}\next\n\nmore\n", "extension line is empty"),
    ],
)
def test_malformed_checkpoints_are_rejected(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", 1, EMPTY_ROOT), "origin is empty"),
        (("a\nb", 1, EMPTY_ROOT), "control character"),
        (("o", -1, EMPTY_ROOT), "size must be"),
        (("o", 2**63, EMPTY_ROOT), "size must be"),
        (("o", 1, b"short"), "root must be 32 bytes"),
        (("o", 1, EMPTY_ROOT, [""]), "extension line is empty"),
    ],
)
def test_invalid_checkpoints_cannot_be_formatted(args: tuple, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        format_checkpoint(*args)
