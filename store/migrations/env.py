"""Alembic environment: runs on a connection we hand over (``config.attributes['connection']``),
so migrations work the same from ``rongyiban db upgrade``, at server start, and in tests."""

from alembic import context

from store.tables.base import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through store.migrate.upgrade(), which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
