"""Orchestration's append-only tables: witnesses' checkpoint cosignatures, refused UPDATE and DELETE in the
database like the ledger they vouch for (PostgreSQL's triggers come from django-pgtrigger, SQLite's from
migration orchestration.0006 with governance.triggers' statements)."""

from governance.triggers import LEDGER_TABLES

WITNESS_TABLES = ("orchestration_checkpointcosignature",)
APPEND_ONLY_TABLES = LEDGER_TABLES + WITNESS_TABLES
"""Every append-only table of the site (a test database reset lifts their triggers, tests/conftest.py)."""
