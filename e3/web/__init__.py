"""The web side of the upload app (seed 002) and the merger (seed 003): ``e3 serve``.

Server-rendered pages (Jinja2) with a JSON twin of each under ``/api/`` (OpenAPI at
``/api/openapi.json``). The app only writes rows and files: the ``uploads_sensor`` (the Dagster
daemon) turns pending uploads into audiobooks; merges run as `e3 merge` runs them, in a child
process. See :func:`e3.web.app.create_app`.
"""
