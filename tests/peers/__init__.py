"""Real protocol peers on loopback for tests: an SMTP server (aiosmtpd) and an SMSC (smpp34)."""
