"""Persistence: tables, the engine, migrations and the queries the domain needs."""
