"""feedback: tracking switch, delivery summary of what came back, event keys and raw data

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import distribute.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_TIME = distribute.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('campaigns') as batch_op:
        batch_op.add_column(sa.Column('track', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('deliveries') as batch_op:
        batch_op.add_column(sa.Column('bounce_kind', sa.String(length=8), nullable=True))
        for name in ('opens', 'human_opens', 'clicks'):
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
        for name in ('first_opened_at', 'first_human_open_at', 'first_clicked_at', 'unsubscribed_at', 'complained_at'):
            batch_op.add_column(sa.Column(name, _TIME, nullable=True))
    with op.batch_alter_table('events') as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('raw', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('ip', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_events_dedupe_key'), ['dedupe_key'])
        batch_op.create_index('ix_events_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events') as batch_op:
        batch_op.drop_index('ix_events_at')
        batch_op.drop_constraint(batch_op.f('uq_events_dedupe_key'), type_='unique')
        for name in ('ip', 'user_agent', 'raw', 'dedupe_key'):
            batch_op.drop_column(name)
    with op.batch_alter_table('deliveries') as batch_op:
        for name in ('complained_at', 'unsubscribed_at', 'first_clicked_at', 'first_human_open_at',
                     'first_opened_at', 'clicks', 'human_opens', 'opens', 'bounce_kind'):
            batch_op.drop_column(name)
    with op.batch_alter_table('campaigns') as batch_op:
        batch_op.drop_column('track')
