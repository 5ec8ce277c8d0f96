"""Alembic environment: migrations run synchronously with psycopg 3 on the configured URL."""

from alembic import context
from sqlalchemy import create_engine, pool

from store.db import normalize_url
from store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = normalize_url(config.get_main_option("sqlalchemy.url") or "")
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
