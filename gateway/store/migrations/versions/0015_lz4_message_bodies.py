"""PostgreSQL: message and outbox bodies compressed with lz4 (pglz took ~5 % of the backends' CPU)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 02:45:00

Only values written from now on are compressed with lz4; older ones stay as they are (both
read back the same). A server built without lz4 keeps pglz. SQLite does not compress.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BODIES = (("message", "raw"), ("outbox", "data"))


def _compress_with(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, column in BODIES:
        try:
            with bind.begin_nested():
                bind.exec_driver_sql(
                    f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")
        except DBAPIError:  # this server has no lz4: pglz it stays
            return


def upgrade() -> None:
    _compress_with("lz4")


def downgrade() -> None:
    _compress_with("pglz")
