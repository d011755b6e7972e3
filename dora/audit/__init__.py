"""Append-only, hash-chained audit store (see :mod:`dora.audit.store`)."""
