"""Storage tests: migrations and repositories, on SQLite and PostgreSQL."""
