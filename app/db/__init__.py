"""Database access: engine, sessions, the declarative base, migrations and the scheduler lease."""
