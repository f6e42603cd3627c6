"""the staff app's audiences: contact search by prefix (address, name, outlet) and language, a
contact's deliveries, and CSV import jobs with their progress

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa
import distribute.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_contacts_email_prefix', 'contacts', ['email_key'],
                    postgresql_ops={'email_key': 'varchar_pattern_ops'})
    op.create_index('ix_contacts_name_prefix', 'contacts', [sa.text('lower(name) text_pattern_ops')]
                    if op.get_bind().dialect.name == 'postgresql' else [sa.text('lower(name)')])
    op.create_index('ix_contacts_outlet_prefix', 'contacts', [sa.text('lower(outlet) text_pattern_ops')]
                    if op.get_bind().dialect.name == 'postgresql' else [sa.text('lower(outlet)')])
    op.create_index('ix_contacts_language', 'contacts', ['language'])
    op.create_index(op.f('ix_deliveries_contact_id'), 'deliveries', ['contact_id'])
    op.create_table(
        'import_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('file_name', sa.String(length=300), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('list_name', sa.String(length=200), nullable=True),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('bytes_total', sa.BigInteger(), nullable=False),
        sa.Column('bytes_done', sa.BigInteger(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('error', sa.String(length=2000), nullable=True),
        sa.Column('created_at', distribute.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', distribute.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_jobs_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs')),
    )
    op.create_index(op.f('ix_import_jobs_user_id'), 'import_jobs', ['user_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_import_jobs_user_id'), table_name='import_jobs')
    op.drop_table('import_jobs')
    op.drop_index(op.f('ix_deliveries_contact_id'), table_name='deliveries')
    for name in ('ix_contacts_language', 'ix_contacts_outlet_prefix', 'ix_contacts_name_prefix',
                 'ix_contacts_email_prefix'):
        op.drop_index(name, table_name='contacts')
