"""Code versions of the steps whose output depends on E3's own code, for Dagster's ``code_version``.

Bump one when a change alters what its step writes for the same input: the UI then shows the
book's later assets as stale ("code version changed") instead of silently mixing outputs of old
and new code. Reruns still skip finished work by content hash.
"""

# e3.books (parse, structure, corrections, ledger): the chapters and their text.
PARSER = "parser-12"
# e3.books.chunking and e3.books.speech: chunk boundaries and spoken forms (they feed chunk hashes).
CHUNKER = "chunker-10"
# e3.narration.tts: how chunks are voiced (pauses, alignment, sample format).
VOICE = "voice-10"
# e3.narration.audiobook / e3.media.m4b: the m4b's layout (chapter track, tags, loudness).
M4B = "m4b-layout-2"
# e3.narration.subtitles: cue building and timing.
SUBTITLES = "subtitles-15"
# e3.video.render and e3.studio: the rendered videos.
RENDER = "render-10"
