"""Local stand-ins for the services the bundle talks to: strict (each refuses what the real service refuses),
recording what they accept, thread-safe, on a free loopback port, stopped cleanly (use them as context
managers). The channels' fakes: slack, teams, twilio, webhook (HTTP, on http.py), smtp (aiosmtpd)."""
