"""catalog of every seed table

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 05:32:48.686842
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from e3.catalog.types import gen_random_uuid

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('channels',
    sa.Column('id', sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('youtube_channel_id', sa.String(length=100), nullable=True),
    sa.Column('brand_niche', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('youtube_channel_id', name=op.f('uq_channels_youtube_channel_id'))
    )
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.create_index('idx_channels_is_active', ['is_active'], unique=False)

    op.create_table('comfyui_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('config_name', sa.String(length=255), nullable=False),
    sa.Column('job_type', sa.String(length=32), server_default='image', nullable=False),
    sa.Column('workflow_id', sa.String(length=255), nullable=True),
    sa.Column('priority', sa.Integer(), server_default='100', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('run_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('retries_attempted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('retry_limit', sa.Integer(), server_default='3', nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('error_trace', sa.Text(), nullable=True),
    sa.Column('metadata', sa.Text(), nullable=True),
    sa.Column('worker_id', sa.String(length=255), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'processing', 'done', 'failed')", name=op.f('ck_comfyui_jobs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comfyui_jobs'))
    )
    with op.batch_alter_table('comfyui_jobs', schema=None) as batch_op:
        batch_op.create_index('idx_comfyui_config_name', ['config_name'], unique=True)
        batch_op.create_index('idx_comfyui_started', ['start_time'], unique=False)
        batch_op.create_index('idx_comfyui_status_priority', ['status', 'priority'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('input_folders', sa.Text(), nullable=False),
    sa.Column('output_file', sa.Text(), nullable=True),
    sa.Column('start_time', sa.DateTime(), nullable=True),
    sa.Column('end_time', sa.DateTime(), nullable=True),
    sa.Column('log', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'running', 'completed', 'failed')", name=op.f('ck_jobs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_table('narrators',
    sa.Column('narrator_id', sa.String(length=64), nullable=False),
    sa.Column('narrator_name', sa.String(length=255), nullable=False),
    sa.Column('voice_sample_path', sa.Text(), nullable=True),
    sa.Column('voice_model', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("gender IN ('male', 'female', 'neutral') OR gender IS NULL", name=op.f('ck_narrators_gender')),
    sa.PrimaryKeyConstraint('narrator_id', name=op.f('pk_narrators'))
    )
    with op.batch_alter_table('narrators', schema=None) as batch_op:
        batch_op.create_index('idx_narrators_active', ['active'], unique=False)
        batch_op.create_index('idx_narrators_language', ['language'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=True),
    sa.Column('is_superuser', sa.Boolean(), server_default=sa.false(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('idx_users_email', ['email'], unique=False)

    op.create_table('audiobooks',
    sa.Column('id', sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('original_file_name', sa.String(length=500), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('pdf_path', sa.String(length=1000), nullable=False),
    sa.Column('audio_path', sa.String(length=1000), nullable=True),
    sa.Column('status', sa.String(length=50), server_default='pending', nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audiobooks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audiobooks'))
    )
    with op.batch_alter_table('audiobooks', schema=None) as batch_op:
        batch_op.create_index('idx_audiobooks_status', ['status'], unique=False)
        batch_op.create_index('idx_audiobooks_user_id', ['user_id'], unique=False)

    op.create_table('titles',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('book_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('author', sa.String(length=500), nullable=True),
    sa.Column('genre', sa.String(length=255), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('publication_year', sa.Integer(), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('audiobook_complete', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('audiobook_narrator_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("book_id <> ''", name=op.f('ck_titles_book_id_not_empty')),
    sa.ForeignKeyConstraint(['audiobook_narrator_id'], ['narrators.narrator_id'], name=op.f('fk_titles_audiobook_narrator_id_narrators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_titles')),
    sa.UniqueConstraint('book_id', name=op.f('uq_titles_book_id'))
    )
    with op.batch_alter_table('titles', schema=None) as batch_op:
        batch_op.create_index('idx_titles_audiobook_complete', ['audiobook_complete'], unique=False)
        batch_op.create_index('idx_titles_author', ['author'], unique=False)
        batch_op.create_index('idx_titles_genre', ['genre'], unique=False)

    op.create_table('video_jobs',
    sa.Column('id', sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
    sa.Column('channel_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'generating_music', 'generating_image', 'rendering', 'ready_for_export', 'completed', 'failed', name='video_job_status', create_constraint=True), server_default='planned', nullable=False),
    sa.Column('niche_label', sa.String(length=255), nullable=False),
    sa.Column('mood_keywords', sa.Text(), nullable=False),
    sa.Column('target_duration_minutes', sa.Integer(), nullable=False),
    sa.Column('prompts_json', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('local_video_path', sa.Text(), nullable=True),
    sa.Column('output_directory', sa.Text(), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('target_duration_minutes BETWEEN 60 AND 90', name=op.f('ck_video_jobs_target_duration_minutes')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_video_jobs_channel_id_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_jobs'))
    )
    with op.batch_alter_table('video_jobs', schema=None) as batch_op:
        batch_op.create_index('idx_video_jobs_channel_id', ['channel_id'], unique=False)
        batch_op.create_index('idx_video_jobs_prompts', ['prompts_json'], unique=False, postgresql_using='gin')
        batch_op.create_index('idx_video_jobs_status', ['status'], unique=False)

    op.create_table('audio_tracks',
    sa.Column('id', sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
    sa.Column('video_job_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.Enum('dummy', 'mubert', 'beatoven', 'comfyui', name='music_provider', create_constraint=True), nullable=False),
    sa.Column('provider_track_id', sa.String(length=255), nullable=True),
    sa.Column('order_index', sa.Integer(), nullable=False),
    sa.Column('duration_seconds', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('local_file_path', sa.Text(), nullable=False),
    sa.Column('license_document_url', sa.Text(), nullable=True),
    sa.Column('prompt_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('duration_seconds > 0', name=op.f('ck_audio_tracks_duration_seconds')),
    sa.CheckConstraint('order_index BETWEEN 1 AND 20', name=op.f('ck_audio_tracks_order_index')),
    sa.ForeignKeyConstraint(['video_job_id'], ['video_jobs.id'], name=op.f('fk_audio_tracks_video_job_id_video_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audio_tracks')),
    sa.UniqueConstraint('video_job_id', 'order_index', name=op.f('uq_audio_tracks_video_job_id_order_index'))
    )
    with op.batch_alter_table('audio_tracks', schema=None) as batch_op:
        batch_op.create_index('idx_audio_tracks_order', ['video_job_id', 'order_index'], unique=False)
        batch_op.create_index('idx_audio_tracks_video_job_id', ['video_job_id'], unique=False)

    op.create_table('audiobook_production',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('book_id', sa.String(length=64), nullable=False),
    sa.Column('narrator_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('parse_novel_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('parse_novel_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('metadata_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('metadata_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total_chapters', sa.Integer(), nullable=True),
    sa.Column('total_chunks', sa.Integer(), nullable=True),
    sa.Column('total_words', sa.Integer(), nullable=True),
    sa.Column('audio_generation_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('audio_generation_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('audio_jobs_completed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('total_audio_files', sa.Integer(), nullable=True),
    sa.Column('audio_duration_seconds', sa.Integer(), nullable=True),
    sa.Column('audio_file_size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('audio_files_moved_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('audio_files_moved_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('audio_combination_planned_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('audio_combination_planned_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('audio_combination_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('audio_combination_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('image_prompts_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('image_prompts_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('image_prompts_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('image_jobs_generation_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('image_jobs_generation_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('image_jobs_completed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('total_image_jobs', sa.Integer(), nullable=True),
    sa.Column('image_generation_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('image_generation_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('subtitle_generation_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('subtitle_generation_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('video_generation_status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('video_generation_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('video_generation_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total_videos_created', sa.Integer(), server_default='0', nullable=False),
    sa.Column('metadata', sa.Text(), nullable=True),
    sa.Column('retry_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_retries', sa.Integer(), server_default='3', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("audio_combination_planned_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_audio_combination_planned_status')),
    sa.CheckConstraint("audio_combination_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_audio_combination_status')),
    sa.CheckConstraint("audio_files_moved_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_audio_files_moved_status')),
    sa.CheckConstraint("audio_generation_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_audio_generation_status')),
    sa.CheckConstraint("image_generation_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_image_generation_status')),
    sa.CheckConstraint("image_jobs_generation_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_image_jobs_generation_status')),
    sa.CheckConstraint("image_prompts_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_image_prompts_status')),
    sa.CheckConstraint("metadata_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_metadata_status')),
    sa.CheckConstraint("parse_novel_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_parse_novel_status')),
    sa.CheckConstraint("status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_status')),
    sa.CheckConstraint("subtitle_generation_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_subtitle_generation_status')),
    sa.CheckConstraint("video_generation_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_audiobook_production_video_generation_status')),
    sa.ForeignKeyConstraint(['book_id'], ['titles.book_id'], name=op.f('fk_audiobook_production_book_id_titles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['narrator_id'], ['narrators.narrator_id'], name=op.f('fk_audiobook_production_narrator_id_narrators'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audiobook_production'))
    )
    with op.batch_alter_table('audiobook_production', schema=None) as batch_op:
        batch_op.create_index('idx_audiobook_book_id', ['book_id'], unique=False)
        batch_op.create_index('idx_audiobook_created', ['created_at'], unique=False)
        batch_op.create_index('idx_audiobook_narrator_id', ['narrator_id'], unique=False)
        batch_op.create_index('idx_audiobook_status', ['status'], unique=False)
        batch_op.create_index('idx_audiobook_workflow_status', ['parse_novel_status', 'audio_generation_status', 'video_generation_status'], unique=False)

    op.create_table('conversion_jobs',
    sa.Column('id', sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
    sa.Column('audiobook_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=50), server_default='queued', nullable=True),
    sa.Column('progress', sa.Integer(), server_default='0', nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['audiobook_id'], ['audiobooks.id'], name=op.f('fk_conversion_jobs_audiobook_id_audiobooks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversion_jobs'))
    )
    with op.batch_alter_table('conversion_jobs', schema=None) as batch_op:
        batch_op.create_index('idx_conversion_jobs_audiobook_id', ['audiobook_id'], unique=False)
        batch_op.create_index('idx_conversion_jobs_status', ['status'], unique=False)

    op.create_table('images',
    sa.Column('id', sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
    sa.Column('video_job_id', sa.Uuid(), nullable=True),
    sa.Column('provider', sa.Enum('dummy', 'leonardo', 'gemini', 'comfyui', name='visual_provider', create_constraint=True), nullable=False),
    sa.Column('provider_image_id', sa.String(length=255), nullable=True),
    sa.Column('order_index', sa.Integer(), nullable=True),
    sa.Column('local_file_path', sa.Text(), nullable=False),
    sa.Column('prompt_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('book_id', sa.String(length=64), nullable=True),
    sa.CheckConstraint('order_index BETWEEN 1 AND 20', name=op.f('ck_images_order_index')),
    sa.ForeignKeyConstraint(['book_id'], ['titles.book_id'], name=op.f('fk_images_book_id_titles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_job_id'], ['video_jobs.id'], name=op.f('fk_images_video_job_id_video_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
    sa.UniqueConstraint('video_job_id', 'order_index', name=op.f('uq_images_video_job_id_order_index'))
    )
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.create_index('idx_images_book_id', ['book_id'], unique=False)
        batch_op.create_index('idx_images_order', ['video_job_id', 'order_index'], unique=False)
        batch_op.create_index('idx_images_video_job_id', ['video_job_id'], unique=False)

    op.create_table('render_tasks',
    sa.Column('id', sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
    sa.Column('video_job_id', sa.Uuid(), nullable=False),
    sa.Column('ffmpeg_command', sa.Text(), nullable=False),
    sa.Column('local_video_path', sa.Text(), nullable=True),
    sa.Column('resolution', sa.String(length=20), server_default='1920x1080', nullable=False),
    sa.Column('duration_seconds', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('status', sa.Enum('pending', 'in_progress', 'completed', 'failed', name='render_status', create_constraint=True), server_default='pending', nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['video_job_id'], ['video_jobs.id'], name=op.f('fk_render_tasks_video_job_id_video_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_render_tasks'))
    )
    with op.batch_alter_table('render_tasks', schema=None) as batch_op:
        batch_op.create_index('idx_render_tasks_status', ['status'], unique=False)
        batch_op.create_index('idx_render_tasks_video_job_id', ['video_job_id'], unique=False)

    # Recent-first indexes from the seeds (autogenerate skips expression indexes).
    for table in ("audiobooks", "channels", "video_jobs", "render_tasks"):
        op.create_index(f"idx_{table}_created_at", table, [sa.text("created_at DESC")], unique=False)


def downgrade() -> None:
    for table in ("audiobooks", "channels", "video_jobs", "render_tasks"):
        op.drop_index(f"idx_{table}_created_at", table_name=table)
    
    with op.batch_alter_table('render_tasks', schema=None) as batch_op:
        batch_op.drop_index('idx_render_tasks_video_job_id')
        batch_op.drop_index('idx_render_tasks_status')

    op.drop_table('render_tasks')
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.drop_index('idx_images_video_job_id')
        batch_op.drop_index('idx_images_order')
        batch_op.drop_index('idx_images_book_id')

    op.drop_table('images')
    with op.batch_alter_table('conversion_jobs', schema=None) as batch_op:
        batch_op.drop_index('idx_conversion_jobs_status')
        batch_op.drop_index('idx_conversion_jobs_audiobook_id')

    op.drop_table('conversion_jobs')
    with op.batch_alter_table('audiobook_production', schema=None) as batch_op:
        batch_op.drop_index('idx_audiobook_workflow_status')
        batch_op.drop_index('idx_audiobook_status')
        batch_op.drop_index('idx_audiobook_narrator_id')
        batch_op.drop_index('idx_audiobook_created')
        batch_op.drop_index('idx_audiobook_book_id')

    op.drop_table('audiobook_production')
    with op.batch_alter_table('audio_tracks', schema=None) as batch_op:
        batch_op.drop_index('idx_audio_tracks_video_job_id')
        batch_op.drop_index('idx_audio_tracks_order')

    op.drop_table('audio_tracks')
    with op.batch_alter_table('video_jobs', schema=None) as batch_op:
        batch_op.drop_index('idx_video_jobs_status')
        batch_op.drop_index('idx_video_jobs_prompts', postgresql_using='gin')
        batch_op.drop_index('idx_video_jobs_channel_id')

    op.drop_table('video_jobs')
    with op.batch_alter_table('titles', schema=None) as batch_op:
        batch_op.drop_index('idx_titles_genre')
        batch_op.drop_index('idx_titles_author')
        batch_op.drop_index('idx_titles_audiobook_complete')

    op.drop_table('titles')
    with op.batch_alter_table('audiobooks', schema=None) as batch_op:
        batch_op.drop_index('idx_audiobooks_user_id')
        batch_op.drop_index('idx_audiobooks_status')

    op.drop_table('audiobooks')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('idx_users_email')

    op.drop_table('users')
    with op.batch_alter_table('narrators', schema=None) as batch_op:
        batch_op.drop_index('idx_narrators_language')
        batch_op.drop_index('idx_narrators_active')

    op.drop_table('narrators')
    op.drop_table('jobs')
    with op.batch_alter_table('comfyui_jobs', schema=None) as batch_op:
        batch_op.drop_index('idx_comfyui_status_priority')
        batch_op.drop_index('idx_comfyui_started')
        batch_op.drop_index('idx_comfyui_config_name')

    op.drop_table('comfyui_jobs')
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_index('idx_channels_is_active')

    op.drop_table('channels')
    if op.get_bind().dialect.name == "postgresql":
        for enum_name in ("render_status", "visual_provider", "music_provider", "video_job_status"):
            sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
