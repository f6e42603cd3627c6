"""per-campaign counters kept with every delivery move (campaign_counters, domain_counters), and the
indexes the stats read through; existing campaigns are counted once

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ERROR_STATES_SQL = "state IN ('deferred', 'bounced', 'failed', 'unknown')"
DETAIL_SQL = ("opens > 0 OR clicks > 0 OR unsubscribed_at IS NOT NULL OR complained_at IS NOT NULL "
              "OR state IN ('bounced', 'complained', 'failed', 'unknown')")


def upgrade() -> None:
    op.create_table(
        'campaign_counters',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_counters_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'name', 'shard', name=op.f('pk_campaign_counters')),
    )
    op.create_table(
        'domain_counters',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('domain', sa.String(length=255), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_domain_counters_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'domain', 'state', 'shard', name=op.f('pk_domain_counters')),
    )
    op.create_index('ix_domain_counters_rank', 'domain_counters', ['campaign_id', 'state', 'value', 'domain'])
    op.create_index('ix_deliveries_campaign_sent_at', 'deliveries', ['campaign_id', 'sent_at'])
    op.create_index('ix_deliveries_campaign_errors', 'deliveries', ['campaign_id', 'updated_at', 'id'],
                    postgresql_where=sa.text(ERROR_STATES_SQL), sqlite_where=sa.text(ERROR_STATES_SQL))
    op.create_index('ix_deliveries_campaign_detail', 'deliveries', ['campaign_id', 'id'],
                    postgresql_where=sa.text(DETAIL_SQL), sqlite_where=sa.text(DETAIL_SQL))
    # Campaigns sent before counters existed are counted once, by the same exact recount that
    # repairs drift later (it starts from zero here).
    from distribute.deliveries.recount import recount_all
    recount_all(op.get_bind(), log_fixes=False, kinds=("campaign", "domains"))


def downgrade() -> None:
    op.drop_index('ix_deliveries_campaign_detail', table_name='deliveries')
    op.drop_index('ix_deliveries_campaign_errors', table_name='deliveries')
    op.drop_index('ix_deliveries_campaign_sent_at', table_name='deliveries')
    op.drop_index('ix_domain_counters_rank', table_name='domain_counters')
    op.drop_table('domain_counters')
    op.drop_table('campaign_counters')
