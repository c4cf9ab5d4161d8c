"""Bring a database to the newest schema with Alembic (run by `serve` and `migrate` on start)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision(?:: [^=]+)? = ['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = (?:['\"]([^'\"]+)['\"]|None)$", re.MULTILINE)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    # Every CLI command migrates first. Alembic's import and its reading of the migration
    # scripts took about 0.3 s of a command's 1 s; a database already at the newest revision
    # (nearly always) needs neither.
    newest = newest_revision()
    if newest is not None and current_revision(engine) == newest:
        return
    from alembic import command

    cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def newest_revision() -> str | None:
    """The head of the migrations, read from the scripts' `revision` and `down_revision` lines
    without importing them; None unless they form one chain with one head (then Alembic
    decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None  # a merge (a tuple of parents) or another layout
        revisions.add(revision[1])
        if down[1] is not None:
            parents.add(down[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None (no schema yet, or not exactly one revision)."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return None
    return str(found[0][0]) if len(found) == 1 else None


def make_revision(url: str, message: str) -> None:
    """Developer helper: autogenerate a migration from the models."""
    from alembic import command

    command.revision(alembic_config(url), message=message, autogenerate=True)
