"""Alembic migrations for the groupops schema (run them with `storage.migrate`)."""
