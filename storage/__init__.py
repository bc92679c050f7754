"""Storage: engine, ORM rows, repositories and the unit of work over SQLite or PostgreSQL."""
