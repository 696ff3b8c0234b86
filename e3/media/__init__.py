"""Media building blocks (FFmpeg, audio, subtitles) that need no Dagster."""
