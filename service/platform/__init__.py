"""The platform every other part stands on: the typed settings, the database (engine, sessions,
the booking's driver lane) and the request's or job's transaction, jobs handed to the workers
after commit, logging, Tokyo time, signed tokens, the process state, migrations and the
production server. It imports nothing from the domain, the edge or the adapters."""
