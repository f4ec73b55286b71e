"""A small inventory service."""
