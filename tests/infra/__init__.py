"""Real servers on loopback for the test suite and benchmarks.

Each helper starts a throw-away server in a private temp dir on a free
127.0.0.1 port and removes every trace of it on ``stop()`` / ``__exit__``;
nothing depends on state left on the machine by an earlier run.

* :class:`tests.infra.postgres.PostgresServer` -- a private PostgreSQL cluster.
* :class:`tests.infra.localstripe_server.LocalStripe` -- a fake Stripe API.
* :class:`tests.infra.smtp.SmtpServer` -- an SMTP sink collecting messages.
* :func:`tests.infra.ports.free_port` -- pick an unused TCP port.
"""
