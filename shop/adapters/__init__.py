"""Adapters: the database tables, sessions, Stripe and e-mail around the domain."""
