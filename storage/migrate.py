"""Runs Alembic migrations from code (`groupops migrate`, start-up checks, tests)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.engine import async_url, create_engine


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for the installed `migrations` package (independent of the cwd)."""
    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        # ConfigParser interpolates '%', which URL-encoded passwords contain.
        config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The revision the code expects the database to be at."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


async def _with_connection(url: str, action: Callable[[Connection], Any]) -> Any:
    """Run a synchronous Alembic action on a connection of a short-lived engine, committing."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.run_sync(action)
            await connection.commit()
            return result
    finally:
        await engine.dispose()


def _command(url: str, run: Callable[[Config], None]) -> Callable[[Connection], None]:
    def action(connection: Connection) -> None:
        config = alembic_config(url)
        # env.py migrates this connection rather than opening its own event loop.
        config.attributes["connection"] = connection
        run(config)

    return action


async def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision`."""
    await _with_connection(url, _command(url, lambda cfg: command.upgrade(cfg, revision)))


async def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at `url` to `revision` (e.g. "-1" or "base")."""
    await _with_connection(url, _command(url, lambda cfg: command.downgrade(cfg, revision)))


async def upgrade_to_head(url: str) -> None:
    """Bring the database at `url` up to the latest schema."""
    await upgrade(url, "head")


async def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at, or None when it was never migrated."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    result: str | None = await _with_connection(url, read)
    return result


async def is_up_to_date(url: str) -> bool:
    """Whether the database at `url` is at the head revision (the bot refuses to run if not)."""
    return await current_revision(url) == head_revision()
