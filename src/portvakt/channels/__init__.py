"""Outbound channels: how the server reaches people and its own other instances."""
