"""Data-subject rights: export, erasure and retention of personal data (PRIV-04..06)."""
