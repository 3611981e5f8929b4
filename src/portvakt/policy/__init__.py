"""Pure policy decisions: no database session, no request object."""
