"""PostgreSQL: opm_ledger_append_one takes the head's row lock with the UPDATE that moves it (one statement
fewer under the lock than 0004's SELECT ... FOR UPDATE followed by an UPDATE)."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION opm_ledger_append_one(
    p_prefix bytea, p_suffix bytea, p_time timestamptz, p_kind text, p_actor text, p_subject text, p_payload jsonb
) RETURNS TABLE (entry_id bigint, entry_index bigint) LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    leaf bytea;
    h bytea;
    lvl integer := 0;
    sibling bytea;
    new_id bigint;
BEGIN
    UPDATE governance_ledgerhead SET size = size + 1 WHERE id = 1 RETURNING size - 1 INTO n;
    IF NOT FOUND THEN
        INSERT INTO governance_ledgerhead (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING;
        UPDATE governance_ledgerhead SET size = size + 1 WHERE id = 1 RETURNING size - 1 INTO n;
    END IF;
    leaf := p_prefix || convert_to(n::text, 'UTF8') || p_suffix;
    h := sha256('\x00'::bytea || leaf);
    INSERT INTO governance_ledgerentry ("index", "time", kind, actor, subject, payload, leaf, leaf_hash)
        VALUES (n, p_time, p_kind, p_actor, p_subject, p_payload, leaf, h) RETURNING id INTO new_id;
    INSERT INTO governance_ledgernode (level, "index", hash) VALUES (0, n, h);
    WHILE ((n >> lvl) & 1) = 1 LOOP
        SELECT hash INTO STRICT sibling FROM governance_ledgernode WHERE level = lvl AND "index" = (n >> lvl) - 1;
        h := sha256('\x01'::bytea || sibling || h);
        lvl := lvl + 1;
        INSERT INTO governance_ledgernode (level, "index", hash) VALUES (lvl, n >> lvl, h);
    END LOOP;
    RETURN QUERY SELECT new_id, n;
END
$$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def restore_0004(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        schema_editor.execute(import_module("governance.migrations.0004_pg_ledger_append_function").CREATE)


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_pg_ledger_append_function")]

    operations = [migrations.RunPython(create, restore_0004)]
