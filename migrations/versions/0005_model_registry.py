"""model registry: state, checkpoint hash, scores and activation time of each model version

A model version is `building` while its collection is backfilled, `live` while the alias points
at it, `previous` once replaced (the rollback target), `retired` when older still, `pruned` once
its collection is deleted, `failed` when a build did not verify. At most one version is live and
one previous (partial unique indexes), so two concurrent swaps cannot both win.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch_op:
        # Rows from before the registry had no state; the next `clipshoe models list` or
        # `doctor` marks the alias's target live again.
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="retired")
        )
        batch_op.add_column(sa.Column("checkpoint_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("scores", JSONType, nullable=True))
        batch_op.add_column(sa.Column("points", sa.Integer(), nullable=True))
        # Progress of the current fill (backfill or repair) of the version's collection: embed
        # tasks count themselves here, so the caller can wait without a Celery result backend.
        batch_op.add_column(sa.Column("batches_total", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("batches_done", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("failed", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
    for state in ("live", "previous"):
        op.create_index(
            f"uq_model_versions_{state}",
            "model_versions",
            ["state"],
            unique=True,
            postgresql_where=sa.text(f"state = '{state}'"),
            sqlite_where=sa.text(f"state = '{state}'"),
        )


def downgrade() -> None:
    for state in ("live", "previous"):
        op.drop_index(f"uq_model_versions_{state}", table_name="model_versions")
    with op.batch_alter_table("model_versions") as batch_op:
        for column in (
            "activated_at", "message", "failed", "batches_done", "batches_total", "points", "scores",
            "checkpoint_hash", "state",
        ):  # fmt: skip
            batch_op.drop_column(column)
