"""``narration_check``: listen to the audiobook and compare what is heard with what was spoken."""

import warnings

import dagster as dg

# Partitioned checks are "preview" in 1.13; they are what makes "Execute all" work per book.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

from e3_assets.common import checked_book  # noqa: E402
from e3_assets.narration.assets import audiobook_m4b
from e3_assets.partitions import books_partitions
from e3_resources.asr import ASRResource
from e3_resources.foundry import FoundryResource


def _row(r: dict) -> str:
    return f"#{r['index']} at {r['at']}: WER {r['wer']:.0%}\n  text:  {r['text']}\n  heard: {r['heard']}"


def report_metadata(report: dict) -> dict:
    """Check metadata from an ``e3.narration.listen.check_book`` report."""
    dist = report["wer_distribution"]
    flagged = report["flagged"]
    return {
        "checked_chunks": report["checked"],
        "chunks": report["chunks"],
        "overall_wer": report["overall_wer"],
        "wer_median": dist["median"],
        "wer_p90": dist["p90"],
        "wer_max": dist["max"],
        "above_threshold": dist["above_threshold"],
        "threshold": report["threshold"],
        "flagged": dg.MetadataValue.md("\n\n".join(_row(r) for r in flagged) or "none"),
        "worst": dg.MetadataValue.md("\n\n".join(_row(r) for r in report["worst"]) or "none"),
        "audio_seconds": report["audio_seconds"],
        "wall_seconds": report["wall_seconds"],
    }


@dg.asset_check(asset=audiobook_m4b, partitions_def=books_partitions,
                description="Listen back: a sample of chunks (E3_ASR_SAMPLE) transcribed by the speech "
                            "recognizer; each chunk's word error rate against its spoken text stays under "
                            "E3_ASR_MAX_WER (default 25%).")
def narration_check(context: dg.AssetCheckExecutionContext, foundry: FoundryResource,
                    asr: ASRResource) -> dg.AssetCheckResult:
    from e3.narration.listen import check_book

    book_id = checked_book(context)
    report = check_book(asr.recognizer(), foundry.book(book_id), fraction=asr.sample_fraction(),
                        threshold=asr.wer_threshold())
    for r in report["flagged"]:
        context.log.warning(f"{book_id}: chunk {_row(r)}")
    return dg.AssetCheckResult(passed=report["passed"], metadata=report_metadata(report))


checks = [narration_check]
