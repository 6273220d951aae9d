"""Domain areas: models, repositories (every query), services (the rules). No web imports."""
