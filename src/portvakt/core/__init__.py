"""Use-cases. The only layer that opens database transactions."""
