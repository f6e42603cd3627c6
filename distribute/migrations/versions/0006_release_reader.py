"""what the release reader understands: the header label, the dateline's dash, several contacts
(the one media_contact moves into them), the release's own boilerplate heading, its end mark and
its notes to editors

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_FIELDS = ("name", "title", "organisation", "email", "phones")


def _releases(*columns):
    return sa.table('releases', sa.column('id', sa.Integer), *columns)


def upgrade() -> None:
    with op.batch_alter_table('releases') as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('dateline_dash', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('contacts', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('boilerplate_heading', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('end_mark', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('notes', sa.JSON(), nullable=False, server_default='[]'))
    bind = op.get_bind()
    old = _releases(sa.column('media_contact', sa.JSON))
    new = _releases(sa.column('contacts', sa.JSON), sa.column('content_hash', sa.String))
    for row in bind.execute(sa.select(old.c.id, old.c.media_contact)).all():
        contacts = []
        if row.media_contact:
            contact = dict(row.media_contact)
            phone = contact.pop('phone', None)
            contacts = [{key: contact.get(key) for key in _FIELDS[:4]} | {'phones': [phone] if phone else []}]
        # Hashes are over the content fields, which this revision changes: each is made again from
        # the stored fields when the next release is saved (distribute.releases.store._hash_older_releases).
        bind.execute(sa.update(new).where(new.c.id == row.id).values(contacts=contacts, content_hash=None))
    with op.batch_alter_table('releases') as batch_op:
        batch_op.drop_column('media_contact')


def downgrade() -> None:
    with op.batch_alter_table('releases') as batch_op:
        batch_op.add_column(sa.Column('media_contact', sa.JSON(), nullable=True))
    bind = op.get_bind()
    table = _releases(sa.column('contacts', sa.JSON), sa.column('media_contact', sa.JSON))
    for row in bind.execute(sa.select(table.c.id, table.c.contacts)).all():
        first = (row.contacts or [None])[0]
        if first:
            contact = {k: first[k] for k in ('name', 'title', 'email') if first.get(k)}
            if first.get('phones'):
                contact['phone'] = first['phones'][0]
            bind.execute(sa.update(table).where(table.c.id == row.id).values(media_contact=contact))
    with op.batch_alter_table('releases') as batch_op:
        for name in ('notes', 'end_mark', 'boilerplate_heading', 'contacts', 'dateline_dash', 'label'):
            batch_op.drop_column(name)
