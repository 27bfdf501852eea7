"""dead letter, embed batches, job priority and progress, product stock

ingest_errors becomes the dead letter: every item that could not be ingested keeps its record (to
retry it) and how many attempts were made. Embed batches get rows of their own, so the broker only
ever holds a few per job (backpressure) and their order of completion is on record. Jobs get a
priority (live | bulk), how far their feed has been read (a retried or continued feed task resumes
there) and when it was read to the end, and counters of partial updates and encoder calls.
Products get a stock count (a stock change is a payload update).

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
JOB_COUNTERS = ("read", "updated", "images_encoded", "texts_encoded")


def upgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.add_column(sa.Column("stock", sa.Integer(), nullable=True))
    with op.batch_alter_table("ingest_jobs") as batch_op:
        batch_op.add_column(sa.Column("priority", sa.String(length=8), nullable=False, server_default="bulk"))
        batch_op.add_column(sa.Column("feed_read_at", sa.DateTime(timezone=True), nullable=True))
        for column in JOB_COUNTERS:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("ingest_errors") as batch_op:
        batch_op.add_column(sa.Column("record", JSONType, nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_index("ix_ingest_errors_created", ["created_at"], unique=False)
    op.create_table(
        "ingest_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("product_ids", JSONType, nullable=False),
        sa.Column("text_ids", JSONType, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["ingest_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "seq", name="uq_ingest_batches_job_seq"),
    )
    with op.batch_alter_table("ingest_batches") as batch_op:
        batch_op.create_index("ix_ingest_batches_job_status", ["job_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingest_batches") as batch_op:
        batch_op.drop_index("ix_ingest_batches_job_status")
    op.drop_table("ingest_batches")
    with op.batch_alter_table("ingest_errors") as batch_op:
        batch_op.drop_index("ix_ingest_errors_created")
        batch_op.drop_column("attempts")
        batch_op.drop_column("record")
    with op.batch_alter_table("ingest_jobs") as batch_op:
        for column in (*reversed(JOB_COUNTERS), "feed_read_at", "priority"):
            batch_op.drop_column(column)
    with op.batch_alter_table("products") as batch_op:
        batch_op.drop_column("stock")
