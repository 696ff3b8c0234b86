"""Merges: folders of audio files into one chaptered m4b.

    plan = collect_inputs([Path("disc1"), Path("disc2")], chapters="per-file", allowed_roots=[root])
    result = run_merge(plan, Path("out.m4b"), loudness_target=None)   # -> M4BResult
"""

from e3.merge.plan import InputFile, MergeError, MergePlan, clean_title, collect_inputs, natural_key
from e3.merge.run import can_copy, run_merge

__all__ = ["InputFile", "MergeError", "MergePlan", "can_copy", "clean_title", "collect_inputs",
           "natural_key", "run_merge"]
