"""`manage.py conformance record` stores the adapter harness's report and gates approval on it."""

import json

import pytest
from django.core.management import CommandError, call_command

from adapters.contract import ADAPTER_CONTRACT
from governance.models import LedgerEntry

pytestmark = pytest.mark.django_db


def report(verdict="passed", contract=ADAPTER_CONTRACT):
    return {
        "contract": contract,
        "toolchain": "llvm",
        "harness_version": "1.0.0",
        "verdict": verdict,
        "checks": [{"name": "determinism", "passed": verdict == "passed", "detail": "identical objects"}],
        "started_at": "2026-11-26T01:52:51.672Z",
        "finished_at": "2026-11-26T01:52:53.979Z",
    }


def test_records_the_report_and_ledgers_it(release, tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report()))
    call_command("conformance", "record", "--release", release.pk, "--report", str(path))
    assert "passed" in capsys.readouterr().out
    run = release.conformance_runs.get()
    assert run.verdict == "passed" and run.harness_version == "1.0.0"
    assert LedgerEntry.objects.filter(kind="conformance.recorded").count() == 1


def test_a_report_claiming_a_pass_with_a_failed_check_is_recorded_as_failed(release, tmp_path):
    document = report()
    document["checks"][0]["passed"] = False
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document))
    call_command("conformance", "record", "--release", release.pk, "--report", str(path))
    assert release.conformance_runs.get().verdict == "failed"


def test_bad_input_is_a_one_line_error(release, tmp_path):
    with pytest.raises(CommandError, match="no adapter release"):
        call_command("conformance", "record", "--release", 999999, "--report", "x")
    with pytest.raises(CommandError, match="cannot read the report"):
        call_command("conformance", "record", "--release", release.pk, "--report", str(tmp_path / "missing.json"))
    path = tmp_path / "other.json"
    path.write_text(json.dumps(report(contract="other@9.9.9")))
    with pytest.raises(CommandError, match="unknown contract"):
        call_command("conformance", "record", "--release", release.pk, "--report", str(path))
