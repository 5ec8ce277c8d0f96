"""Postgres: SQLAlchemy models, engine/session helpers, repositories and migrations."""
