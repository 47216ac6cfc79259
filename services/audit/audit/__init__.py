"""The auditors' tool: export the event log, verify it without trusting any service, and
rebuild a service's read model from it (``hackathon audit export|verify|rebuild``).

- :mod:`audit.log`: log records as read from the broker or an export file (JSON Lines),
  streamed or collected.
- :mod:`audit.reading`: one record read for the verification (JSON, hash, schema, envelope)
  into the small item kept of it.
- :mod:`audit.facts`: what the rules keep of each decoded event.
- :mod:`audit.verify`: every check, producing a :class:`~audit.report.Report`.
- :mod:`audit.report`: the report and how it reads.
- :mod:`audit.ranking`: the leaderboard and awards recomputed from the events.
- :mod:`audit.rebuild`: replaying the log into a fresh database and comparing it with the
  live one.
- :mod:`audit.cli`: the command line.
"""
