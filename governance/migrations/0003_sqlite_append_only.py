"""Append-only triggers for the ledger tables on SQLite (0002 installs PostgreSQL's via pgtrigger)."""

from django.db import migrations

from governance.triggers import sqlite_create_statements, sqlite_drop_statements


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in sqlite_create_statements():
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in sqlite_drop_statements():
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_ledger_tree")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
