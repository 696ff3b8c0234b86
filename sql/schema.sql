-- E3 catalog: the Postgres DDL of every seed table.
-- Generated from the Alembic migrations in sql/migrations by `python -m e3.catalog.schema_sql`.
-- Do not edit by hand: change a migration, then regenerate (tests/catalog/test_schema_sql.py checks it).

BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 0001

CREATE TABLE channels (
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    name VARCHAR(255) NOT NULL,
    youtube_channel_id VARCHAR(100),
    brand_niche VARCHAR(255) NOT NULL,
    is_active BOOLEAN DEFAULT true NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT pk_channels PRIMARY KEY (id),
    CONSTRAINT uq_channels_youtube_channel_id UNIQUE (youtube_channel_id)
);

CREATE INDEX idx_channels_is_active ON channels (is_active);

CREATE TABLE comfyui_jobs (
    id SERIAL NOT NULL,
    config_name VARCHAR(255) NOT NULL,
    job_type VARCHAR(32) DEFAULT 'image' NOT NULL,
    workflow_id VARCHAR(255),
    priority INTEGER DEFAULT '100' NOT NULL,
    status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    run_count INTEGER DEFAULT '0' NOT NULL,
    retries_attempted INTEGER DEFAULT '0' NOT NULL,
    retry_limit INTEGER DEFAULT '3' NOT NULL,
    start_time TIMESTAMP WITH TIME ZONE,
    end_time TIMESTAMP WITH TIME ZONE,
    duration FLOAT,
    error_trace TEXT,
    metadata TEXT,
    worker_id VARCHAR(255),
    lease_expires_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_comfyui_jobs PRIMARY KEY (id),
    CONSTRAINT ck_comfyui_jobs_status CHECK (status IN ('pending', 'processing', 'done', 'failed'))
);

CREATE UNIQUE INDEX idx_comfyui_config_name ON comfyui_jobs (config_name);

CREATE INDEX idx_comfyui_started ON comfyui_jobs (start_time);

CREATE INDEX idx_comfyui_status_priority ON comfyui_jobs (status, priority);

CREATE TABLE jobs (
    id UUID NOT NULL,
    status VARCHAR(20) DEFAULT 'queued' NOT NULL,
    input_folders TEXT NOT NULL,
    output_file TEXT,
    start_time TIMESTAMP WITHOUT TIME ZONE,
    end_time TIMESTAMP WITHOUT TIME ZONE,
    log TEXT,
    created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT pk_jobs PRIMARY KEY (id),
    CONSTRAINT ck_jobs_status CHECK (status IN ('queued', 'running', 'completed', 'failed'))
);

CREATE TABLE narrators (
    narrator_id VARCHAR(64) NOT NULL,
    narrator_name VARCHAR(255) NOT NULL,
    voice_sample_path TEXT,
    voice_model VARCHAR(64) NOT NULL,
    language VARCHAR(16),
    gender VARCHAR(16),
    description TEXT,
    active BOOLEAN DEFAULT true NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT pk_narrators PRIMARY KEY (narrator_id),
    CONSTRAINT ck_narrators_gender CHECK (gender IN ('male', 'female', 'neutral') OR gender IS NULL)
);

CREATE INDEX idx_narrators_active ON narrators (active);

CREATE INDEX idx_narrators_language ON narrators (language);

CREATE TABLE users (
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    email VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    is_active BOOLEAN DEFAULT true,
    is_superuser BOOLEAN DEFAULT false,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT uq_users_email UNIQUE (email)
);

CREATE INDEX idx_users_email ON users (email);

CREATE TABLE audiobooks (
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    user_id UUID,
    title VARCHAR(500) NOT NULL,
    original_file_name VARCHAR(500) NOT NULL,
    file_size INTEGER NOT NULL,
    pdf_path VARCHAR(1000) NOT NULL,
    audio_path VARCHAR(1000),
    status VARCHAR(50) DEFAULT 'pending',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_audiobooks PRIMARY KEY (id),
    CONSTRAINT fk_audiobooks_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX idx_audiobooks_status ON audiobooks (status);

CREATE INDEX idx_audiobooks_user_id ON audiobooks (user_id);

CREATE TABLE titles (
    id SERIAL NOT NULL,
    book_id VARCHAR(64) NOT NULL,
    title VARCHAR(500),
    author VARCHAR(500),
    genre VARCHAR(255),
    language VARCHAR(16),
    publication_year INTEGER,
    source_url TEXT,
    audiobook_complete BOOLEAN DEFAULT false NOT NULL,
    audiobook_narrator_id VARCHAR(64),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT pk_titles PRIMARY KEY (id),
    CONSTRAINT ck_titles_book_id_not_empty CHECK (book_id <> ''),
    CONSTRAINT fk_titles_audiobook_narrator_id_narrators FOREIGN KEY(audiobook_narrator_id) REFERENCES narrators (narrator_id) ON DELETE SET NULL,
    CONSTRAINT uq_titles_book_id UNIQUE (book_id)
);

CREATE INDEX idx_titles_audiobook_complete ON titles (audiobook_complete);

CREATE INDEX idx_titles_author ON titles (author);

CREATE INDEX idx_titles_genre ON titles (genre);

CREATE TYPE video_job_status AS ENUM ('planned', 'generating_music', 'generating_image', 'rendering', 'ready_for_export', 'completed', 'failed');

CREATE TABLE video_jobs (
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    channel_id UUID NOT NULL,
    status video_job_status DEFAULT 'planned' NOT NULL,
    niche_label VARCHAR(255) NOT NULL,
    mood_keywords TEXT NOT NULL,
    target_duration_minutes INTEGER NOT NULL,
    prompts_json JSONB,
    local_video_path TEXT,
    output_directory TEXT NOT NULL,
    error_message TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT pk_video_jobs PRIMARY KEY (id),
    CONSTRAINT ck_video_jobs_target_duration_minutes CHECK (target_duration_minutes BETWEEN 60 AND 90),
    CONSTRAINT fk_video_jobs_channel_id_channels FOREIGN KEY(channel_id) REFERENCES channels (id) ON DELETE CASCADE
);

CREATE INDEX idx_video_jobs_channel_id ON video_jobs (channel_id);

CREATE INDEX idx_video_jobs_prompts ON video_jobs USING gin (prompts_json);

CREATE INDEX idx_video_jobs_status ON video_jobs (status);

CREATE TYPE music_provider AS ENUM ('dummy', 'mubert', 'beatoven', 'comfyui');

CREATE TABLE audio_tracks (
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    video_job_id UUID NOT NULL,
    provider music_provider NOT NULL,
    provider_track_id VARCHAR(255),
    order_index INTEGER NOT NULL,
    duration_seconds NUMERIC(6, 2) NOT NULL,
    local_file_path TEXT NOT NULL,
    license_document_url TEXT,
    prompt_text TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT pk_audio_tracks PRIMARY KEY (id),
    CONSTRAINT ck_audio_tracks_duration_seconds CHECK (duration_seconds > 0),
    CONSTRAINT ck_audio_tracks_order_index CHECK (order_index BETWEEN 1 AND 20),
    CONSTRAINT fk_audio_tracks_video_job_id_video_jobs FOREIGN KEY(video_job_id) REFERENCES video_jobs (id) ON DELETE CASCADE,
    CONSTRAINT uq_audio_tracks_video_job_id_order_index UNIQUE (video_job_id, order_index)
);

CREATE INDEX idx_audio_tracks_order ON audio_tracks (video_job_id, order_index);

CREATE INDEX idx_audio_tracks_video_job_id ON audio_tracks (video_job_id);

CREATE TABLE audiobook_production (
    id SERIAL NOT NULL,
    book_id VARCHAR(64) NOT NULL,
    narrator_id VARCHAR(64),
    status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    parse_novel_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    parse_novel_completed_at TIMESTAMP WITH TIME ZONE,
    metadata_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    metadata_completed_at TIMESTAMP WITH TIME ZONE,
    total_chapters INTEGER,
    total_chunks INTEGER,
    total_words INTEGER,
    audio_generation_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    audio_generation_completed_at TIMESTAMP WITH TIME ZONE,
    audio_jobs_completed INTEGER DEFAULT '0' NOT NULL,
    total_audio_files INTEGER,
    audio_duration_seconds INTEGER,
    audio_file_size_bytes BIGINT,
    audio_files_moved_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    audio_files_moved_completed_at TIMESTAMP WITH TIME ZONE,
    audio_combination_planned_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    audio_combination_planned_completed_at TIMESTAMP WITH TIME ZONE,
    audio_combination_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    audio_combination_completed_at TIMESTAMP WITH TIME ZONE,
    image_prompts_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    image_prompts_started_at TIMESTAMP WITH TIME ZONE,
    image_prompts_completed_at TIMESTAMP WITH TIME ZONE,
    image_jobs_generation_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    image_jobs_generation_completed_at TIMESTAMP WITH TIME ZONE,
    image_jobs_completed INTEGER DEFAULT '0' NOT NULL,
    total_image_jobs INTEGER,
    image_generation_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    image_generation_completed_at TIMESTAMP WITH TIME ZONE,
    subtitle_generation_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    subtitle_generation_completed_at TIMESTAMP WITH TIME ZONE,
    video_generation_status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    video_generation_started_at TIMESTAMP WITH TIME ZONE,
    video_generation_completed_at TIMESTAMP WITH TIME ZONE,
    total_videos_created INTEGER DEFAULT '0' NOT NULL,
    metadata TEXT,
    retry_count INTEGER DEFAULT '0' NOT NULL,
    max_retries INTEGER DEFAULT '3' NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT pk_audiobook_production PRIMARY KEY (id),
    CONSTRAINT ck_audiobook_production_audio_combination_planned_status CHECK (audio_combination_planned_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_audio_combination_status CHECK (audio_combination_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_audio_files_moved_status CHECK (audio_files_moved_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_audio_generation_status CHECK (audio_generation_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_image_generation_status CHECK (image_generation_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_image_jobs_generation_status CHECK (image_jobs_generation_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_image_prompts_status CHECK (image_prompts_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_metadata_status CHECK (metadata_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_parse_novel_status CHECK (parse_novel_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_status CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_subtitle_generation_status CHECK (subtitle_generation_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT ck_audiobook_production_video_generation_status CHECK (video_generation_status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT fk_audiobook_production_book_id_titles FOREIGN KEY(book_id) REFERENCES titles (book_id) ON DELETE CASCADE,
    CONSTRAINT fk_audiobook_production_narrator_id_narrators FOREIGN KEY(narrator_id) REFERENCES narrators (narrator_id) ON DELETE RESTRICT
);

CREATE INDEX idx_audiobook_book_id ON audiobook_production (book_id);

CREATE INDEX idx_audiobook_created ON audiobook_production (created_at);

CREATE INDEX idx_audiobook_narrator_id ON audiobook_production (narrator_id);

CREATE INDEX idx_audiobook_status ON audiobook_production (status);

CREATE INDEX idx_audiobook_workflow_status ON audiobook_production (parse_novel_status, audio_generation_status, video_generation_status);

CREATE TABLE conversion_jobs (
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    audiobook_id UUID NOT NULL,
    status VARCHAR(50) DEFAULT 'queued',
    progress INTEGER DEFAULT '0',
    error_message TEXT,
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_conversion_jobs PRIMARY KEY (id),
    CONSTRAINT fk_conversion_jobs_audiobook_id_audiobooks FOREIGN KEY(audiobook_id) REFERENCES audiobooks (id) ON DELETE CASCADE
);

CREATE INDEX idx_conversion_jobs_audiobook_id ON conversion_jobs (audiobook_id);

CREATE INDEX idx_conversion_jobs_status ON conversion_jobs (status);

CREATE TYPE visual_provider AS ENUM ('dummy', 'leonardo', 'gemini', 'comfyui');

CREATE TABLE images (
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    video_job_id UUID,
    provider visual_provider NOT NULL,
    provider_image_id VARCHAR(255),
    order_index INTEGER,
    local_file_path TEXT NOT NULL,
    prompt_text TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    book_id VARCHAR(64),
    CONSTRAINT pk_images PRIMARY KEY (id),
    CONSTRAINT ck_images_order_index CHECK (order_index BETWEEN 1 AND 20),
    CONSTRAINT fk_images_book_id_titles FOREIGN KEY(book_id) REFERENCES titles (book_id) ON DELETE CASCADE,
    CONSTRAINT fk_images_video_job_id_video_jobs FOREIGN KEY(video_job_id) REFERENCES video_jobs (id) ON DELETE CASCADE,
    CONSTRAINT uq_images_video_job_id_order_index UNIQUE (video_job_id, order_index)
);

CREATE INDEX idx_images_book_id ON images (book_id);

CREATE INDEX idx_images_order ON images (video_job_id, order_index);

CREATE INDEX idx_images_video_job_id ON images (video_job_id);

CREATE TYPE render_status AS ENUM ('pending', 'in_progress', 'completed', 'failed');

CREATE TABLE render_tasks (
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    video_job_id UUID NOT NULL,
    ffmpeg_command TEXT NOT NULL,
    local_video_path TEXT,
    resolution VARCHAR(20) DEFAULT '1920x1080' NOT NULL,
    duration_seconds NUMERIC(10, 2),
    status render_status DEFAULT 'pending' NOT NULL,
    error_message TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_render_tasks PRIMARY KEY (id),
    CONSTRAINT fk_render_tasks_video_job_id_video_jobs FOREIGN KEY(video_job_id) REFERENCES video_jobs (id) ON DELETE CASCADE
);

CREATE INDEX idx_render_tasks_status ON render_tasks (status);

CREATE INDEX idx_render_tasks_video_job_id ON render_tasks (video_job_id);

CREATE INDEX idx_audiobooks_created_at ON audiobooks (created_at DESC);

CREATE INDEX idx_channels_created_at ON channels (created_at DESC);

CREATE INDEX idx_video_jobs_created_at ON video_jobs (created_at DESC);

CREATE INDEX idx_render_tasks_created_at ON render_tasks (created_at DESC);

INSERT INTO alembic_version (version_num) VALUES ('0001') RETURNING alembic_version.version_num;

-- Running upgrade 0001 -> 0002

ALTER TABLE video_jobs ADD COLUMN upload_strategy VARCHAR(50);

ALTER TABLE video_jobs ADD COLUMN scheduled_time TIMESTAMP WITH TIME ZONE;

ALTER TABLE video_jobs ADD COLUMN youtube_video_id VARCHAR(100);

ALTER TABLE channels ADD COLUMN youtube_refresh_token TEXT;

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';

COMMIT;
