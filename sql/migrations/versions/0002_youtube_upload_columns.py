"""youtube upload columns (seed 004's "Future Enhancements: YouTube Integration")

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:50:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('video_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('upload_strategy', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('scheduled_time', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('youtube_video_id', sa.String(length=100), nullable=True))
    with op.batch_alter_table('channels', schema=None) as batch_op:
        # Fernet ciphertext keyed from E3_SECRET_KEY (e3.video.youtube_upload), never plain text.
        batch_op.add_column(sa.Column('youtube_refresh_token', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('youtube_refresh_token')
    with op.batch_alter_table('video_jobs', schema=None) as batch_op:
        batch_op.drop_column('youtube_video_id')
        batch_op.drop_column('scheduled_time')
        batch_op.drop_column('upload_strategy')
