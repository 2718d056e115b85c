"""`manage.py backtest`: replay a ledger export offline and write a signed attestation; `backtest verify` checks one."""

import sys
from pathlib import Path

import rfc8785
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from adapters.ledger.export import ExportError
from adapters.ledger.note import NoteError
from governance.log_key import operator_signer
from orchestration.backtest import open_attestation, replay, sign_attestation
from orchestration.services import attestation_record


class Command(BaseCommand):
    help = "Replay a ledger export offline, check every orchestration decision, write a signed attestation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", nargs="?", choices=["run", "verify"], default="run", help="run (default) or verify."
        )
        parser.add_argument("file", nargs="?", help="verify: the attestation note to check.")
        parser.add_argument("--export", help="run: the export directory (`manage.py ledger export DIR`).")
        parser.add_argument("--out", help="run: where to write the attestation note.")
        parser.add_argument("--key", help="verify: the operator's verifier key, or a file holding it.")
        parser.add_argument("--print-key", action="store_true", help="run: also print the operator's verifier key.")
        parser.add_argument(
            "--record", action="store_true", help="run: also keep the attestation in this site's database and ledger."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, action: str, **options) -> None:
        if action == "verify":
            return self._verify(options["file"], options["key"])
        if not options["export"] or not options["out"]:
            raise CommandError("backtest needs --export DIR and --out FILE")
        directory = Path(options["export"])
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory (make one with `manage.py ledger export DIR`)")
        with tqdm(desc="verifying export", unit="entry", disable=options["no_progress"], file=sys.stderr) as bar:
            try:
                result = replay(directory, progress=lambda n: bar.update(n - bar.n))
            except ExportError as exc:
                where = f" (first bad entry: {exc.first_bad_index})" if exc.first_bad_index is not None else ""
                raise CommandError(f"the export does not verify: {exc}{where}") from None
        signer = operator_signer()
        out = Path(options["out"])
        tmp = out.with_name(out.name + ".tmp")
        body = result.attestation()
        note = sign_attestation(body, signer)
        tmp.write_bytes(note)
        tmp.replace(out)
        if options["record"]:
            attestation_record(body=body, note=note, text=rfc8785.dumps(body).decode())
        self.stdout.write(
            f"replayed {result.export.size} entries of {result.export.origin}: {len(result.decisions)} round(s), "
            f"{sum(1 for d in result.decisions if d['promoted'])} promotion(s)"
        )
        if options["print_key"]:
            self.stdout.write(f"operator verifier key: {signer.verifier.vkey}")
        if result.divergence:
            raise CommandError(f"diverged at {result.divergence} (attestation written to {out})")
        self.stdout.write(self.style.SUCCESS(f"reproduced: attestation written to {out}"))

    def _verify(self, file: str | None, key: str | None) -> None:
        if not file or not key:
            raise CommandError("backtest verify needs FILE and --key KEY")
        vkey = Path(key).read_text().strip() if Path(key).is_file() else key
        try:
            body = open_attestation(Path(file).read_bytes(), vkey)
        except FileNotFoundError:
            raise CommandError(f"no such file: {file}") from None
        except (NoteError, ValueError) as exc:
            raise CommandError(f"the attestation does not verify: {exc}") from None
        checkpoint = body["checkpoint"]
        self.stdout.write(
            f"signature valid; {checkpoint['origin']} at size {checkpoint['size']}, {body['rounds']} round(s), "
            f"code {body['code_version']}: {body['verdict']}"
        )
        if body["verdict"] != "reproduced":
            raise CommandError(f"the backtest diverged: {body['divergence']}")
