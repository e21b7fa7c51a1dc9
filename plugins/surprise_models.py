"""Placeholder: filled in by its own change in this session."""
