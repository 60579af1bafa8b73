"""Alembic runs the shop's migrations on DATABASE_URL with the shop's own drivers: sqlite3 for
SQLite, asyncpg (through SQLAlchemy's `run_sync`) for PostgreSQL."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import shop.adapters.after_sale_tables  # noqa: F401  (registers the tables on SQLModel.metadata)
import shop.adapters.perk_tables  # noqa: F401
import shop.adapters.review_tables  # noqa: F401
import shop.adapters.tables  # noqa: F401
from shop.adapters.database import Database
from shop.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def database_url() -> str:
    return config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    from shop.settings import async_database_url

    context.configure(url=async_database_url(database_url()), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    database = Database(database_url())
    try:
        await database.schema_change(lambda uow: _run(uow.connection))
    finally:
        await database.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
