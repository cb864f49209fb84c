"""ORM models of the e-mail channel (imported by app.models)."""
