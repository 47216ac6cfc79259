"""The auditors' tool: export the event log, verify it without trusting any service, and
rebuild a service's read model from it (``hackathon audit export|verify|rebuild``).

- :mod:`audit.log`: log records as read from the broker or an export file (JSON Lines).
- :mod:`audit.verify`: every check, producing a :class:`~audit.verify.Report`.
- :mod:`audit.ranking`: the leaderboard and awards recomputed from the events.
- :mod:`audit.rebuild`: replaying the log into a fresh database and comparing it with the
  live one.
- :mod:`audit.cli`: the command line.
"""
