"""`manage.py ledger`: verify, export, prove and checkpoint the transparency log (docs/design.md §5)."""

import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from adapters.ledger import merkle
from adapters.ledger.checkpoint import CheckpointError, open_checkpoint
from adapters.ledger.export import ExportError, LeafError, decode_leaf, verify_export, write_export
from adapters.ledger.note import NoteError
from governance import selectors, services
from governance.ledger_store import read_nodes
from governance.log_key import log_signer
from governance.models import LedgerEntry
from opm_site.errors import OpmError


class LedgerMismatch(Exception):
    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class Command(BaseCommand):
    help = "Verify, export, prove or checkpoint the ledger (the tamper-evident Merkle log)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{verify,export,proof,checkpoint}")
        verify = sub.add_parser("verify", help="Recompute every leaf hash, root and checkpoint; exit 1 on mismatch.")
        verify.add_argument("--export", metavar="DIR", help="Verify an export directory instead of the database.")
        verify.add_argument("--no-progress", action="store_true", help="No progress bar.")
        export = sub.add_parser("export", help="Write checkpoint, log.vkey, entries.jsonl, checkpoints/ to DIR.")
        export.add_argument("directory", metavar="DIR", help="A new or empty directory.")
        export.add_argument("--no-progress", action="store_true", help="No progress bar.")
        proof = sub.add_parser("proof", help="Print the inclusion proof of one entry as JSON.")
        proof.add_argument("--index", type=int, required=True)
        proof.add_argument("--tree-size", type=int, help="Size of the tree to prove against (default: the log).")
        sub.add_parser("checkpoint", help="Sign a checkpoint of the log as it is now and print it.")

    def handle(self, *args, action: str, **options) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except OpmError as exc:
            raise CommandError(exc.detail) from None

    def _progress(self, total: int, disabled: bool, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit="entry", disable=disabled or total < 1000, file=sys.stderr)

    # --- verify -----------------------------------------------------------------------------------

    def _verify(self, *, export: str | None, no_progress: bool, **_) -> None:
        if export:
            return self._verify_export(Path(export), no_progress)
        try:
            size, checked = self._verify_database(no_progress)
        except LedgerMismatch as exc:
            where = f" at index {exc.index}" if exc.index is not None else ""
            raise CommandError(f"ledger verify FAILED{where}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"ledger OK: {size} entries, {checked} checkpoints verified"))

    def _verify_database(self, no_progress: bool) -> tuple[int, int]:
        size = selectors.ledger_size()
        verifier = log_signer().verifier
        checkpoints = list(selectors.checkpoints())
        wanted_roots = {cp.size for cp in checkpoints}
        roots = {0: merkle.EMPTY_ROOT}
        accumulator = merkle.RootAccumulator()
        rows = LedgerEntry.objects.order_by("index").values_list("index", "leaf", "leaf_hash")
        with self._progress(size, no_progress, "verify") as bar:
            for expected, (index, leaf, stored_hash) in enumerate(rows.iterator(chunk_size=2000)):
                if index != expected:
                    raise LedgerMismatch(f"entry {expected} is missing (next stored index is {index})", expected)
                leaf = bytes(leaf)
                try:
                    decode_leaf(leaf, index)
                except LeafError as exc:
                    raise LedgerMismatch(f"leaf {exc}", index) from None
                if merkle.leaf_hash(leaf) != bytes(stored_hash):
                    raise LedgerMismatch("stored leaf hash does not match the leaf bytes", index)
                accumulator.append(merkle.leaf_hash(leaf))
                if accumulator.size in wanted_roots:
                    roots[accumulator.size] = accumulator.root()
                bar.update(1)
        if accumulator.size != size:
            raise LedgerMismatch(f"the head says {size} entries but {accumulator.size} are stored", accumulator.size)
        roots[size] = accumulator.root()
        if merkle.tree_hash(size, read_nodes) != roots[size]:
            raise LedgerMismatch("the stored tree's root differs from the root recomputed from the leaves")
        previous = None
        for checkpoint in checkpoints:
            try:
                body = open_checkpoint(checkpoint.note.encode("utf-8"), verifier)
            except (NoteError, CheckpointError) as exc:
                raise LedgerMismatch(f"checkpoint of size {checkpoint.size} does not verify: {exc}") from None
            if body.size != checkpoint.size or body.size > size:
                raise LedgerMismatch(f"checkpoint of size {checkpoint.size} claims size {body.size}")
            if body.root != roots[body.size]:
                raise LedgerMismatch(f"checkpoint of size {body.size} has a root the entries do not give", body.size)
            if previous is not None and previous.size > 0:
                proof = merkle.consistency_proof(previous.size, body.size, read_nodes)
                try:
                    merkle.verify_consistency(previous.size, body.size, proof, previous.root, body.root)
                except merkle.ProofError as exc:
                    raise LedgerMismatch(
                        f"checkpoints {previous.size} and {body.size} are inconsistent: {exc}"
                    ) from None
            previous = body
        return size, len(checkpoints)

    def _verify_export(self, directory: Path, no_progress: bool) -> None:
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")
        bar = tqdm(desc="verify export", unit="entry", disable=no_progress, file=sys.stderr)
        last = [0]

        def progress(count: int) -> None:
            bar.update(count - last[0])
            last[0] = count

        try:
            report = verify_export(directory, progress=progress)
        except ExportError as exc:
            where = f" at index {exc.first_bad_index}" if exc.first_bad_index is not None else ""
            raise CommandError(f"export verify FAILED{where}: {exc}") from None
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"export OK: {report.origin} size {report.size}, root {base64.b64encode(report.root).decode()}, "
                f"{len(report.checkpoint_sizes)} earlier checkpoints consistent"
            )
        )

    # --- export -----------------------------------------------------------------------------------

    def _export(self, *, directory: str, no_progress: bool, **_) -> None:
        target = Path(directory)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise CommandError(f"{target} exists and is not an empty directory")
        checkpoint = services.checkpoint_issue()
        earlier = {cp.size: cp.note.encode("utf-8") for cp in selectors.checkpoints() if cp.size < checkpoint.size}
        rows = LedgerEntry.objects.filter(index__lt=checkpoint.size).order_by("index").values_list("leaf", flat=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            with self._progress(checkpoint.size, no_progress, "export") as bar:

                def leaves():
                    for leaf in rows.iterator(chunk_size=2000):
                        bar.update(1)
                        yield bytes(leaf)

                write_export(
                    scratch,
                    checkpoint_note=checkpoint.note.encode("utf-8"),
                    vkey=log_signer().verifier.vkey,
                    leaves=leaves(),
                    earlier_checkpoints=earlier,
                )
            if target.exists():
                target.rmdir()
            scratch.rename(target)  # all or nothing: a reader never sees a half-written export
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        self.stdout.write(
            self.style.SUCCESS(f"exported {checkpoint.size} entries and {len(earlier) + 1} checkpoints to {target}")
        )

    # --- proof and checkpoint ---------------------------------------------------------------------

    def _proof(self, *, index: int, tree_size: int | None, **_) -> None:
        entry, size, hashes = selectors.inclusion_proof(index=index, tree_size=tree_size)
        root = selectors.ledger_root(size)
        merkle.verify_inclusion(bytes(entry.leaf_hash), index, size, hashes, root)
        document = {
            "index": index,
            "tree_size": size,
            "leaf_hash": base64.b64encode(bytes(entry.leaf_hash)).decode(),
            "root_hash": base64.b64encode(root).decode(),
            "hashes": [base64.b64encode(h).decode() for h in hashes],
        }
        self.stdout.write(json.dumps(document, indent=2))

    def _checkpoint(self, **_) -> None:
        checkpoint = services.checkpoint_issue()
        self.stdout.write(checkpoint.note, ending="")
        self.stderr.write(f"checkpoint of size {checkpoint.size} issued at {checkpoint.issued_at:%Y-%m-%d %H:%M:%S}Z")
