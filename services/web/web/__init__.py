"""The web app: server-rendered pages for participants, judges and organizers, a client of
the gateway's public API like any other frontend (docs/web.md)."""
