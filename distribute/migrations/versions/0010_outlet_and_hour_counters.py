"""per-outlet and per-hour counters (the results page's outlets table and time chart), kept with
every delivery move and every open and click; existing campaigns are counted once

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa
import distribute.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outlet_counters',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('outlet', sa.String(length=300), nullable=False),
        sa.Column('name', sa.String(length=16), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_outlet_counters_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'outlet', 'name', 'shard', name=op.f('pk_outlet_counters')),
    )
    op.create_index('ix_outlet_counters_rank', 'outlet_counters', ['campaign_id', 'name', 'value', 'outlet'])
    op.create_table(
        'hour_counters',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('hour', distribute.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('name', sa.String(length=16), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_hour_counters_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'hour', 'name', 'shard', name=op.f('pk_hour_counters')),
    )
    # Campaigns sent before these counters existed are counted once, by the exact recount.
    from distribute.deliveries.recount import recount_all
    recount_all(op.get_bind(), log_fixes=False, kinds=("outlets", "hours"))


def downgrade() -> None:
    op.drop_table('hour_counters')
    op.drop_index('ix_outlet_counters_rank', table_name='outlet_counters')
    op.drop_table('outlet_counters')
