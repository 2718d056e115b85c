"""PostgreSQL: append one ledger entry in one round trip (lock, leaf, tree rows, head) for the hot path.

A second implementation of adapters.ledger.merkle's append (RFC 9162 hashing with PostgreSQL's sha256):
the PostgreSQL tests compare the roots it stores with the Python reference, and `manage.py ledger verify`
recomputes everything from the leaves. Each statement in the function takes a fresh snapshot (READ
COMMITTED), so the left siblings read after the lock include the previous holder's rows.
"""

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
    SELECT size INTO n FROM governance_ledgerhead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO governance_ledgerhead (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING;
        SELECT size INTO n FROM governance_ledgerhead WHERE id = 1 FOR UPDATE;
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
    UPDATE governance_ledgerhead SET size = n + 1 WHERE id = 1;
    RETURN QUERY SELECT new_id, n;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS opm_ledger_append_one(bytea, bytea, timestamptz, text, text, text, jsonb)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_sqlite_append_only")]

    operations = [migrations.RunPython(create, drop)]
