"""`manage.py ledger verify|export|proof|checkpoint`, including tamper detection."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from adapters.ledger.export import verify_export
from governance.services import checkpoint_issue, ledger_append
from governance.triggers import sqlite_create_statements, sqlite_drop_statements

pytestmark = pytest.mark.django_db


def fill(n: int) -> None:
    with transaction.atomic():
        for i in range(n):
            ledger_append(kind="test.appended", actor="ada", subject=f"s:{i}", payload={"i": i})


def test_verify_passes_on_an_honest_log(capsys):
    fill(5)
    checkpoint_issue()
    fill(4)
    checkpoint_issue()
    call_command("ledger", "verify", "--no-progress")
    assert "ledger OK: 9 entries, 2 checkpoints verified" in capsys.readouterr().out


def _tamper(sql: str, params: list) -> None:
    """What a database superuser could do: lift the triggers and rewrite a row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE governance_ledgerentry DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE governance_ledgerentry ENABLE TRIGGER USER")
        else:
            for statement in sqlite_drop_statements():
                cursor.execute(statement)
            cursor.execute(sql, params)
            for statement in sqlite_create_statements():
                cursor.execute(statement)


def test_verify_names_the_first_rewritten_entry():
    fill(6)
    checkpoint_issue()
    _tamper('UPDATE governance_ledgerentry SET leaf = %s WHERE "index" = 3', [b'{"forged":true}'])
    with pytest.raises(CommandError, match="FAILED at index 3"):
        call_command("ledger", "verify", "--no-progress")


def test_verify_detects_a_rewritten_history_behind_a_checkpoint():
    fill(4)
    checkpoint_issue()
    with connection.cursor() as cursor:
        cursor.execute('SELECT leaf FROM governance_ledgerentry WHERE "index" = 1')
        leaf = bytes(cursor.fetchone()[0]).replace(b'"i":1', b'"i":7')
    from adapters.ledger.merkle import leaf_hash

    _tamper('UPDATE governance_ledgerentry SET leaf = %s, leaf_hash = %s WHERE "index" = 1', [leaf, leaf_hash(leaf)])
    with pytest.raises(CommandError, match="FAILED"):
        call_command("ledger", "verify", "--no-progress")


def test_export_then_offline_verify(tmp_path, capsys):
    fill(3)
    checkpoint_issue()
    fill(3)
    call_command("ledger", "export", str(tmp_path / "export"), "--no-progress")
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == [
        "checkpoint",
        "checkpoints",
        "entries.jsonl",
        "log.vkey",
    ]
    report = verify_export(tmp_path / "export")
    assert report.size == 6 and report.checkpoint_sizes == (3,)
    call_command("ledger", "verify", "--export", str(tmp_path / "export"), "--no-progress")
    assert "export OK" in capsys.readouterr().out


def test_verify_export_flags_a_flipped_byte(tmp_path):
    fill(5)
    call_command("ledger", "export", str(tmp_path / "e"), "--no-progress")
    entries = tmp_path / "e" / "entries.jsonl"
    data = bytearray(entries.read_bytes())
    position = data.index(b'"i":2') + 4
    data[position] = ord("9")  # still canonical JSON: only the signed root can tell
    entries.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="FAILED.*do not have the root"):
        call_command("ledger", "verify", "--export", str(tmp_path / "e"), "--no-progress")
    data[position - 4] = ord("'")  # no longer JSON: the entry itself is named
    entries.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="FAILED at index 2"):
        call_command("ledger", "verify", "--export", str(tmp_path / "e"), "--no-progress")


def test_export_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(CommandError, match="not an empty directory"):
        call_command("ledger", "export", str(tmp_path / "busy"))


def test_proof_prints_a_verified_inclusion_proof(capsys):
    fill(7)
    call_command("ledger", "proof", "--index", "5", "--tree-size", "6")
    document = json.loads(capsys.readouterr().out)
    assert document["index"] == 5 and document["tree_size"] == 6 and len(document["hashes"]) == 2
    with pytest.raises(CommandError, match="index must be between"):
        call_command("ledger", "proof", "--index", "9")


def test_checkpoint_command_prints_the_signed_note(capsys):
    fill(2)
    call_command("ledger", "checkpoint")
    out = capsys.readouterr().out
    assert out.splitlines()[1] == "2" and "\n\n— " in out
