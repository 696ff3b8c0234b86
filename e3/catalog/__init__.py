"""The catalog: SQLAlchemy models of every seed table, the engine, migrations and status helpers."""
