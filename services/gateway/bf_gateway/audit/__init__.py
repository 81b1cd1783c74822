"""``GET /api/v1/audit``: the caller's immutable audit trail, newest first."""
