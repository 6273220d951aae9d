"""The JSON API (/api/v1) and the health endpoints: thin adapters over the domain services."""
