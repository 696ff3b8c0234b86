"""A FLAC folder whose later files use larger block sizes merges to its full length: the concat
demuxer decodes with the first file's block size, so such files must not share one concat list,
and every piece's decoded length is checked against the plan."""

import pytest

from e3.media.m4b import count_samples
from e3.merge.plan import collect_inputs
from e3.merge.run import run_merge
from tests.media.helpers import speech_like


def test_flac_block_sizes_1152_then_4608_merge_whole(tmp_path):
    d = tmp_path / "book"
    d.mkdir()
    sizes = [1152, 1152, 4608, 4608]
    for i, bs in enumerate(sizes, start=1):
        speech_like(d / f"{i:02d}.flac", 10.0, seed=i, rate=44100,
                    codec_args=["-c:a", "flac", "-frame_size", str(bs)])
    plan = collect_inputs([d], allowed_roots=[tmp_path])
    res = run_merge(plan, tmp_path / "out.m4b", piece_seconds=15)
    assert res.duration == pytest.approx(40.0, abs=0.01)
    assert count_samples(res.path) == pytest.approx(40.0 * res.sample_rate, abs=2)
