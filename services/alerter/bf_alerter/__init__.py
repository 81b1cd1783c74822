"""The alerter: turns bus events into user notifications and projects the audit trail."""
