"""Narration: TTS backends, chunk synthesis and subtitle timing."""
