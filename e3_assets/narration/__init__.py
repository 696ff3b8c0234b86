"""Narration: chunk audio, the m4b and subtitles, with their checks."""

from e3_assets.narration.assets import audio_chunks, audiobook_m4b, subtitles
from e3_assets.narration.asset_checks import checks as _m4b_checks
from e3_assets.narration.listen_checks import checks as _listen_checks

checks = [*_m4b_checks, *_listen_checks]

assets = [audio_chunks, audiobook_m4b, subtitles]
