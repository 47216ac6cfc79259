"""The fault suite (issue 16): real processes killed, blocked and restarted under a workload,
checked from outside against a ledger of what the platform acknowledged (tests/faults/ledger.py)."""
