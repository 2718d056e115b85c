"""adapters.ledger.export: writing and offline verification of ledger exports."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.ledger.checkpoint import Checkpoint, sign_checkpoint
from adapters.ledger.export import (
    CHECKPOINT_FILE,
    CHECKPOINTS_DIR,
    ENTRIES_FILE,
    VKEY_FILE,
    ExportError,
    LeafError,
    decode_leaf,
    encode_leaf,
    verify_export,
    write_export,
)
from adapters.ledger.merkle import EMPTY_ROOT, RootAccumulator, leaf_hash
from adapters.ledger.note import Signer, generate_signer_key

ORIGIN = "ledger.openpassmarket.example"
SIGNER = Signer.from_skey(generate_signer_key(ORIGIN)[0])
KINDS = ["proposal.opened", "vote.cast", "proposal.decided", "budget.charged", "signal.accepted"]
EARLIER_SIZES = (0, 1, 2, 7, 64, 150, 299)


def synthetic_entry(index: int) -> dict[str, object]:
    """A plausible ledger entry with nested, non-ASCII and numeric payload values."""
    return {
        "index": index,
        "time": f"2026-01-{1 + index % 28:02d}T12:{index % 60:02d}:00Z",
        "kind": KINDS[index % len(KINDS)],
        "actor": {"id": index % 7, "name": f"board-member-{index % 7}"},
        "subject": {"type": "proposal", "id": index // 3},
        "payload": {"seq": index, "ratio": index / 7, "note": "été ✓" if index % 2 else "", "ok": True},
    }


def build_export(
    directory: Path,
    size: int = 300,
    earlier_sizes: tuple[int, ...] = EARLIER_SIZES,
    signer: Signer = SIGNER,
) -> list[bytes]:
    """Write a signed export of `size` synthetic entries with checkpoints at `earlier_sizes`."""
    leaves = [encode_leaf(synthetic_entry(i)) for i in range(size)]
    accumulator, roots = RootAccumulator(), {0: EMPTY_ROOT}
    for i, leaf in enumerate(leaves, start=1):
        accumulator.append(leaf_hash(leaf))
        roots[i] = accumulator.root()
    earlier = {s: sign_checkpoint(Checkpoint(ORIGIN, s, roots[s]), signer) for s in earlier_sizes if s <= size}
    write_export(
        directory,
        checkpoint_note=sign_checkpoint(Checkpoint(ORIGIN, size, roots[size]), signer),
        vkey=signer.verifier.vkey,
        leaves=leaves,
        earlier_checkpoints=earlier,
    )
    return leaves


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    build_export(tmp_path)
    return tmp_path


def _rewrite_entry(directory: Path, index: int, leaf: bytes) -> None:
    path = directory / ENTRIES_FILE
    lines = path.read_bytes().split(b"\n")
    lines[index] = leaf
    path.write_bytes(b"\n".join(lines))


def test_valid_export_verifies(export_dir: Path) -> None:
    seen: list[int] = []
    report = verify_export(export_dir, progress=seen.append)
    assert (report.origin, report.size, report.key_name) == (ORIGIN, 300, ORIGIN)
    assert report.checkpoint_sizes == EARLIER_SIZES
    assert seen[-1] == 300
    lines = (export_dir / ENTRIES_FILE).read_bytes().splitlines()
    assert len(lines) == 300 and json.loads(lines[5])["index"] == 5
    assert (export_dir / VKEY_FILE).read_text() == SIGNER.verifier.vkey + "\n"


def test_progress_is_reported_in_steps(tmp_path: Path) -> None:
    build_export(tmp_path, size=2500, earlier_sizes=())
    seen: list[int] = []
    verify_export(tmp_path, progress=seen.append)
    assert seen == [1000, 2000, 2500]


def test_empty_log_verifies(tmp_path: Path) -> None:
    build_export(tmp_path, size=0)
    assert verify_export(tmp_path).size == 0
    assert (tmp_path / ENTRIES_FILE).read_bytes() == b""


def test_export_without_earlier_checkpoints_verifies(tmp_path: Path) -> None:
    build_export(tmp_path, earlier_sizes=())
    assert not (tmp_path / CHECKPOINTS_DIR).exists()
    assert verify_export(tmp_path).checkpoint_sizes == ()


def test_changed_entry_content_breaks_the_root(export_dir: Path) -> None:
    entry = synthetic_entry(200)
    entry["actor"] = {"id": 0, "name": "someone-else"}
    _rewrite_entry(export_dir, 200, rfc8785.dumps(entry))
    with pytest.raises(ExportError, match="first 299 entries do not have the root") as exc:
        verify_export(export_dir)
    assert exc.value.first_bad_index is None
    assert "entries 150..298" in str(exc.value)


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        (rfc8785.dumps({**synthetic_entry(42), "index": 43}), "entry 42 has index 43, expected 42"),
        (rfc8785.dumps({**synthetic_entry(42), "index": True}), "has index True"),
        (json.dumps(synthetic_entry(42)).encode(), "entry 42 is not RFC 8785 canonical JSON"),
        (rfc8785.dumps({**synthetic_entry(42), "extra": 1}), "exactly the keys"),
        (rfc8785.dumps([42]), "exactly the keys"),
        (b'{"index":42', "is not valid JSON"),
        (b"\xff", "is not valid UTF-8"),
        (b"NaN", "cannot be canonical JSON"),
        (b"", "is not valid JSON"),
        (b"\r", "is not valid JSON"),
    ],
)
def test_malformed_entries_are_pinpointed(export_dir: Path, leaf: bytes, message: str) -> None:
    _rewrite_entry(export_dir, 42, leaf)
    with pytest.raises(ExportError, match=message) as exc:
        verify_export(export_dir)
    assert exc.value.first_bad_index == 42


def test_missing_and_extra_entries(export_dir: Path) -> None:
    entries = export_dir / ENTRIES_FILE
    original = entries.read_bytes()
    entries.write_bytes(b"".join(original.splitlines(keepends=True)[:250]))
    with pytest.raises(ExportError, match="has 250 entries but the checkpoint covers 300") as exc:
        verify_export(export_dir)
    assert exc.value.first_bad_index == 250
    entries.write_bytes(original + encode_leaf(synthetic_entry(300)) + b"\n")
    with pytest.raises(ExportError, match="more entries than the 300") as exc:
        verify_export(export_dir)
    assert exc.value.first_bad_index == 300
    entries.write_bytes(original[:-1])
    with pytest.raises(ExportError, match="entry 299 does not end with a newline") as exc:
        verify_export(export_dir)
    assert exc.value.first_bad_index == 299


def test_forked_earlier_checkpoint_is_detected(export_dir: Path) -> None:
    forged = sign_checkpoint(Checkpoint(ORIGIN, 64, leaf_hash(b"another history")), SIGNER)
    (export_dir / CHECKPOINTS_DIR / "64.note").write_bytes(forged)
    with pytest.raises(ExportError, match="first 64 entries do not have the root of the checkpoint of size 64"):
        verify_export(export_dir)


@pytest.mark.parametrize(
    ("name", "checkpoint", "message"),
    [
        ("301.note", Checkpoint(ORIGIN, 301, EMPTY_ROOT), "larger than the latest checkpoint"),
        ("300.note", Checkpoint(ORIGIN, 300, EMPTY_ROOT), "same size but different roots"),
        ("0.note", Checkpoint(ORIGIN, 0, leaf_hash(b"")), "size 0 does not have the empty tree's root"),
        ("5.note", Checkpoint(ORIGIN, 6, EMPTY_ROOT), "holds a checkpoint of size 6"),
        ("5.note", Checkpoint("other.example", 5, EMPTY_ROOT), "is for origin 'other.example'"),
        ("05.note", Checkpoint(ORIGIN, 5, EMPTY_ROOT), "unexpected checkpoints/05.note"),
        ("README", Checkpoint(ORIGIN, 5, EMPTY_ROOT), "unexpected checkpoints/README"),
    ],
)
def test_bad_earlier_checkpoints_are_rejected(
    export_dir: Path, name: str, checkpoint: Checkpoint, message: str
) -> None:
    (export_dir / CHECKPOINTS_DIR / name).write_bytes(sign_checkpoint(checkpoint, SIGNER))
    with pytest.raises(ExportError, match=message):
        verify_export(export_dir)


def test_checkpoint_signed_by_another_key_is_rejected(tmp_path: Path) -> None:
    other = Signer.from_skey(generate_signer_key(ORIGIN)[0])
    build_export(tmp_path, signer=other)
    (tmp_path / VKEY_FILE).write_text(SIGNER.verifier.vkey + "\n")
    with pytest.raises(ExportError, match="checkpoint does not verify with log.vkey: note has no signature"):
        verify_export(tmp_path)


@pytest.mark.parametrize("missing", [CHECKPOINT_FILE, VKEY_FILE, ENTRIES_FILE])
def test_missing_files_are_reported(export_dir: Path, missing: str) -> None:
    (export_dir / missing).unlink()
    with pytest.raises(ExportError, match=f"cannot read {missing}"):
        verify_export(export_dir)


def test_leaf_encoding_contract(tmp_path: Path) -> None:
    leaf = encode_leaf(synthetic_entry(3))
    assert leaf == rfc8785.dumps(synthetic_entry(3))
    assert decode_leaf(leaf, 3) == synthetic_entry(3)
    with pytest.raises(LeafError, match="exactly the keys"):
        encode_leaf({"index": 0})
    with pytest.raises(LeafError, match="non-negative integer"):
        encode_leaf({**synthetic_entry(0), "index": "0"})
    with pytest.raises(LeafError, match="newline"):
        write_export(tmp_path, checkpoint_note=b"", vkey="", leaves=[b"a\nb"])


# --- Tampering anywhere is detected ----------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("export-template")
    build_export(directory)
    return directory


def _flip_and_verify(template: Path, path: Path, position: int, mask: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "export"
        shutil.copytree(template, copy)
        content = bytearray((copy / path).read_bytes())
        content[position] ^= mask
        (copy / path).write_bytes(bytes(content))
        with pytest.raises(ExportError):
            verify_export(copy)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_flipped_byte_in_any_file_is_detected(template: Path, data: st.DataObject) -> None:
    files = sorted(p.relative_to(template) for p in template.rglob("*") if p.is_file())
    path = data.draw(st.sampled_from(files), label="file")
    position = data.draw(st.integers(0, (template / path).stat().st_size - 1), label="position")
    _flip_and_verify(template, path, position, data.draw(st.integers(1, 255), label="xor mask"))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_flipped_byte_in_the_entries_is_detected(template: Path, data: st.DataObject) -> None:
    size = (template / ENTRIES_FILE).stat().st_size
    position = data.draw(st.integers(0, size - 1), label="position")
    _flip_and_verify(template, Path(ENTRIES_FILE), position, data.draw(st.integers(1, 255), label="xor mask"))
