"""The ``e3`` command line.

Every command reads E3's settings (environment, ``.env``, ``E3_ENV``), prints one readable line
on bad input and exits non-zero; ``--help`` works everywhere.
"""

from __future__ import annotations

import sys

import click

from e3.errors import E3Error


class E3Group(click.Group):
    """Turns E3Errors into one line on stderr and exit status 1, instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except E3Error as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=E3Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="e3")
def main() -> None:
    """E3: turn books into audiobooks, subtitles, illustrations and videos, on Dagster.

    Start with `e3 demo`. Settings come from the environment or a `.env` file: E3_ENV (alpha|prod),
    E3_DATABASE_URL, E3_FOUNDRY, E3_COMFYUI_URL, OPENAI_API_KEY ... (see .env.example).
    """


def _register() -> None:
    from e3.cli import books, core, listen, merge, pictures, scale, uploads, video, web

    for module in (core, books, pictures, scale, video, merge, uploads, listen, web):
        module.register(main)


_register()
