"""arq workers: thin tasks over the domain services."""
