"""Helpers for testing code that uses taskline, and taskline itself."""
