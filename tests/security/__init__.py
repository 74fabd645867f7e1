"""Security tests and their data (XSS payloads, issue 6)."""
