"""dead letter, job priority and progress, product stock

ingest_errors becomes the dead letter: every item that could not be ingested keeps its record (to
retry it) and how many attempts were made. Jobs get a priority (live | bulk), the number of batches
handed to the broker (for backpressure) and encoder counters (partial updates re-embed only what
changed). Products get a stock count, so a stock change is a payload update.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.add_column(sa.Column("stock", sa.Integer(), nullable=True))
    with op.batch_alter_table("ingest_jobs") as batch_op:
        batch_op.add_column(sa.Column("priority", sa.String(length=8), nullable=False, server_default="bulk"))
        batch_op.add_column(sa.Column("batches_queued", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("updated", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("images_encoded", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("texts_encoded", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("ingest_errors") as batch_op:
        batch_op.add_column(sa.Column("record", JSONType, nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_index("ix_ingest_errors_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingest_errors") as batch_op:
        batch_op.drop_index("ix_ingest_errors_created")
        batch_op.drop_column("attempts")
        batch_op.drop_column("record")
    with op.batch_alter_table("ingest_jobs") as batch_op:
        for column in ("texts_encoded", "images_encoded", "updated", "batches_queued", "priority"):
            batch_op.drop_column(column)
    with op.batch_alter_table("products") as batch_op:
        batch_op.drop_column("stock")
