"""ORM models of this feature (imported by app.models)."""
