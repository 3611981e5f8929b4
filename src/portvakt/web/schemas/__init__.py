"""Wire schemas (pydantic) for the JSON APIs."""
