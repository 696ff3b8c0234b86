"""`e3 serve`: the upload app and the merger as web pages (see e3.web)."""

from __future__ import annotations

import signal

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--with-daemon", is_flag=True,
              help="Also start `dagster-daemon run` (its uploads_sensor turns uploads into audiobooks); "
                   "stopped with the server.")
@click.option("--proxy-headers/--no-proxy-headers", default=True, show_default=True,
              help="Trust X-Forwarded-Proto/For from 127.0.0.1 (a reverse proxy doing HTTPS).")
def serve_command(host: str, port: int, with_daemon: bool, proxy_headers: bool) -> None:
    """Serve the web app: sign in, upload books, watch progress, listen, download; merges for superusers.

    Pages on http://HOST:PORT/, their JSON twins under /api/ (OpenAPI: /api/docs). The app only
    writes rows and files: run it beside the Dagster daemon (`dagster dev` or
    `dagster-daemon run`), or pass --with-daemon. Settings: E3_SECRET_KEY (required when
    E3_ENV=prod), E3_WEB_REGISTRATION, E3_WEB_MAX_UPLOAD_MB, E3_WEB_PAGE_SIZE,
    E3_WEB_SESSION_DAYS (see .env.example). Users come from `e3 user add [--superuser]`.
    """
    import uvicorn

    from e3.web.app import create_app
    from e3.web.settings import load_web_settings
    from e3.web.worker import start_daemon, stop

    app = create_app(load_web_settings())  # refuses to start (prod, no E3_SECRET_KEY) before anything runs
    # uvicorn re-raises SIGTERM after its graceful shutdown: make that an exception, so the daemon stops too.
    signal.signal(signal.SIGTERM, _terminate)
    daemon = start_daemon() if with_daemon else None
    click.echo(f"E3 web app on http://{host}:{port}/" + (" with the Dagster daemon" if daemon else ""), err=True)
    try:
        uvicorn.run(app, host=host, port=port, proxy_headers=proxy_headers, log_level="info")
    finally:
        stop(daemon)


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def register(group: click.Group) -> None:
    group.add_command(serve_command)
