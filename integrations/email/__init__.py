"""Customer emails: rendering (Jinja2 templates, HTML + text) and sending over SMTP.

The worker's sender (``workers/email_outbox.py``) drains the ``notifications`` outbox
through these; see docs/decisions/0006-customer-emails-outbox.md.
"""
