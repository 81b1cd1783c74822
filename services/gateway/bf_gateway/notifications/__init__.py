"""``GET/PUT /api/v1/notifications``: a user's alert settings (webhook, Telegram chat, rules)."""
