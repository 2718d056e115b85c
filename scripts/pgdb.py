"""Create or drop a scratch PostgreSQL database for test.sh: `pgdb.py create|drop URL_BASE NAME`."""

import sys

import psycopg
from psycopg import sql


def main() -> int:
    action, base, name = sys.argv[1:4]
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
            if action == "create":
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            else:
                # pytest-django's test database too: a session a test left open would otherwise keep it alive.
                for database in (f"test_{name}", name):
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    except psycopg.Error as exc:
        print(f"postgresql: {action} {name} failed: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
