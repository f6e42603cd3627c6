"""webhook tokens: Mailgun signature tokens already used, so that a signature is good for one event

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa
import distribute.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'webhook_tokens',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('expires_at', distribute.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_webhook_tokens')),
    )
    op.create_index(op.f('ix_webhook_tokens_expires_at'), 'webhook_tokens', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_webhook_tokens_expires_at'), table_name='webhook_tokens')
    op.drop_table('webhook_tokens')
