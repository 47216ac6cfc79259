"""Fixtures for every test directory (tests/, shared/tests/, services/*/tests/)."""

pytest_plugins = [
    "tests.kafka_fixtures",
    "tests.database_fixtures",
    "tests.mail_fixtures",
    "tests.platform_fixtures",
]
