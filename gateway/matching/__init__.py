"""Matching room: the career-field taxonomy, mapping free text to it, and global mentor suggestions.

The pure part (taxonomy, mapper, scoring, assign) imports only the standard library, NumPy, SciPy
and RapidFuzz; the service at the edge reads and writes the database.
"""
