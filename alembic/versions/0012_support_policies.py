"""Support policies of issue 16: products and versions (seed 002) and a ticket's version

Revision ID: 0012
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("name_key", name=op.f("uq_products_name_key")),
    )
    op.create_table(
        "product_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_versions_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_versions")),
    )
    op.create_index(
        "ix_product_versions_product_version",
        "product_versions",
        ["product_id", "version"],
        unique=True,
    )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("version", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("version")
    op.drop_index("ix_product_versions_product_version", table_name="product_versions")
    op.drop_table("product_versions")
    op.drop_table("products")
