"""Development only: `make run`'s runner, the project-owned PostgreSQL and Redis it starts when
DATABASE_URL / REDIS_URL are unset, and the demo data. Production code (the app, the adapters,
the domain, the workers) never imports it; `python -m service run` and `demo` do."""
