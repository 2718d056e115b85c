"""SQLite's equivalent of 0002's PostgreSQL trigger: refuse any release state change off the lifecycle table.

The table is frozen here (a migration must not change when the model module does).
"""

from django.db import migrations

TRANSITIONS = {
    "submitted": ("in_review",),
    "in_review": ("approved", "rejected"),
    "approved": ("suspended", "revoked"),
    "suspended": ("approved", "revoked"),
}
ALLOWED = " OR ".join(
    f"(OLD.state = '{a}' AND NEW.state = '{b}')" for a, targets in TRANSITIONS.items() for b in targets
)
CREATE = (
    "CREATE TRIGGER registry_release_valid_transition BEFORE UPDATE OF state ON registry_adapterrelease "
    f"WHEN OLD.state <> NEW.state AND NOT ({ALLOWED}) "
    "BEGIN SELECT RAISE(ABORT, 'invalid release transition'); END"
)
DROP = "DROP TRIGGER IF EXISTS registry_release_valid_transition"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_release_transition_trigger")]

    operations = [migrations.RunPython(create, drop)]
