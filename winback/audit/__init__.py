"""The audit trail: every change to contact preferences, cases, offers, tasks, corrective actions,
survey settings, users and roles, written by PostgreSQL triggers into one append-only table
(docs/audit.md)."""
