"""Storage: the database engine, table metadata, migrations, the durable outbox and the audit log.

Knows nothing about HTTP. Everything here works on SQLite (the embedded default) and
PostgreSQL alike.
"""
