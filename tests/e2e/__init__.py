"""End-to-end tests: a real ``portvakt serve`` process driven by a real Chromium."""
