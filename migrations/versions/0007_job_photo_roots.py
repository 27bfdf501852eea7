"""ingest_jobs.photo_roots: the folders a job's local photos must lie in

A feed submitted through the API may only name local photos inside the server's feed folders
(ingest.feed_roots); the job keeps the folders that applied when it was submitted, so the worker
that reads the feed enforces exactly those. NULL (jobs started with the CLI): anywhere.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("ingest_jobs") as batch_op:
        batch_op.add_column(sa.Column("photo_roots", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_jobs") as batch_op:
        batch_op.drop_column("photo_roots")
