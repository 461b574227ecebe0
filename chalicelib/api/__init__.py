"""HTTP: Chalice blueprints, auth, problem+json errors and caching helpers."""
