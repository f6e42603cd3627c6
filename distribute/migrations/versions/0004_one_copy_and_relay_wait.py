"""one copy per address (release content hashes and updates, campaigns sent `--again`); campaigns
waiting for the relay

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa
import distribute.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('releases') as batch_op:
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('updated_at', distribute.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_releases_content_hash'), ['content_hash'], unique=False)
    with op.batch_alter_table('campaigns') as batch_op:
        batch_op.add_column(sa.Column('again', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('wait_since', distribute.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('wait_until', distribute.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('wait_reason', sa.String(length=1000), nullable=True))
    # Releases stored before this revision get their hash when the next release is saved
    # (distribute.releases.store.save_release), from the same fields.


def downgrade() -> None:
    with op.batch_alter_table('campaigns') as batch_op:
        for name in ('wait_reason', 'wait_until', 'wait_since', 'again'):
            batch_op.drop_column(name)
    with op.batch_alter_table('releases') as batch_op:
        batch_op.drop_index(batch_op.f('ix_releases_content_hash'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('content_hash')
