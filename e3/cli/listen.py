"""Listen-back commands: `e3 check BOOK_ID` and `e3 transcribe FILE`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from e3.errors import E3Error


def _recognizer(threads: int | None = None):
    from e3.cli.core import _foundry
    from e3.config import settings
    from e3.narration.listen import Recognizer

    threads = threads or settings().asr_threads or None
    return Recognizer(settings().asr_model, cache_dir=_foundry().cache / "asr", threads=threads)


@click.command("check")
@click.argument("book_id")
@click.option("--full", is_flag=True, help="Listen to every chunk, not a sample.")
@click.option("--sample", type=click.FloatRange(0, 1), default=None,
              help="Fraction of chunks to listen to (default E3_ASR_SAMPLE or 0.1; at least 3 chunks).")
@click.option("--max-wer", type=click.FloatRange(0, 1), default=None,
              help="Flag chunks whose word error rate is above this (default E3_ASR_MAX_WER or 0.25).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def check_command(book_id: str, full: bool, sample: float | None, max_wer: float | None, as_json: bool) -> None:
    """Listen to BOOK_ID's narration and compare it with the text that was spoken.

    Transcribes a sample of the book's chunks (all with --full) with the speech recognizer
    (the `asr` extra), and lists every chunk whose word error rate is above --max-wer with its
    text, what was heard and its time in the m4b. Exits 1 when a chunk is flagged.
    """
    from e3.cli.core import _foundry
    from e3.config import settings
    from e3.narration.listen import check_book

    paths = _foundry().book(book_id)
    if not paths.audio_manifest.is_file():
        raise E3Error(f"{book_id} has no narration yet (no audio manifest); run `e3 produce {book_id}` first")
    chosen = settings(asr_sample=sample, asr_max_wer=max_wer)
    fraction, threshold = chosen.asr_sample, chosen.asr_max_wer
    report = check_book(_recognizer(), paths, fraction=fraction, full=full, threshold=threshold,
                        on_chunk=lambda n, total: click.echo(f"\rlistening {n}/{total}", nl=False, err=True))
    click.echo("", err=True)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        d = report["wer_distribution"]
        click.echo(f"{book_id}: {report['checked']} of {report['chunks']} chunks, overall WER "
                   f"{report['overall_wer']:.1%} (median {d['median']:.1%}, p90 {d['p90']:.1%}, max {d['max']:.1%}); "
                   f"{report['audio_seconds']:.0f} s of audio in {report['wall_seconds']:.0f} s")
        for r in report["flagged"]:
            click.echo(f"\nchunk {r['index']} at {r['at']}: WER {r['wer']:.0%}\n  text:  {r['text']}\n"
                       f"  heard: {r['heard']}")
        click.echo("passed" if report["passed"] else f"\n{len(report['flagged'])} chunk(s) above {threshold:.0%}")
    if not report["passed"]:
        raise SystemExit(1)


@click.command("transcribe")
@click.argument("audio", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output path without suffix (default: AUDIO without its suffix).")
@click.option("--language", default="en", show_default=True, help="Spoken language (e.g. en, de, pt).")
def transcribe_command(audio: Path, output: Path | None, language: str) -> None:
    """Transcribe AUDIO (e.g. a merged .m4b) into .srt, .vtt, .words.vtt and a .txt transcript.

    Works chapter by chapter (the file's chapter marks), streaming a minute of audio at a time,
    so memory stays flat however long the file is. Needs the `asr` extra.
    """
    write_subtitles(audio, output, language)


def write_subtitles(audio: Path, output: Path | None = None, language: str = "en") -> dict:
    """Transcribe ``audio`` into subtitles and a transcript, with progress on stderr; print the paths."""
    from e3.narration.listen import transcribe_to_subtitles

    summary = transcribe_to_subtitles(_recognizer(), audio, output, language=language,
                                      on_progress=lambda done, total: click.echo(
                                          f"\rtranscribed {done:.0f}/{total:.0f} s", nl=False, err=True))
    click.echo("", err=True)
    for key in ("srt", "vtt", "words_vtt", "txt"):
        click.echo(summary[key])
    return summary


def register(group: click.Group) -> None:
    group.add_command(check_command)
    group.add_command(transcribe_command)
