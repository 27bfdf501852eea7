"""photos: every product photo seen, its fingerprints, and the stored copy it uses

One row per distinct photo (sha256 of the bytes as read or downloaded), with its perceptual
hash and size. An exact duplicate (same bytes, or the same URL) finds its row and is not stored
again; a near duplicate gets its own row that points at the photo whose stored copy it reuses
(`duplicate_of`, `distance`).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("phash", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=128), nullable=False),
        sa.Column("duplicate_of", sa.String(length=64), nullable=True),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    # A hash index on Postgres: a B-tree entry cannot hold a URL past ~2.7 kB, a hash one can.
    op.create_index("ix_photos_source", "photos", ["source"], unique=False, postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_photos_source", table_name="photos")
    op.drop_table("photos")
