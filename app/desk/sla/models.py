"""ORM models of service levels (imported by app.models)."""
