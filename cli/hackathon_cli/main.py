"""The project's command-line tool: ``hackathon run`` starts the platform on its embedded
defaults; ``hackathon audit export|verify|rebuild`` is the auditors' tool (see docs/audit.md)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from audit.cli import add_commands as add_audit_commands
from hackathon_cli.databases import DatabaseUrlError, create_missing, service_database_urls
from hackathon_cli.keys import add_commands as add_key_commands
from hackathon_cli.platform import SERVICES, Platform, PlatformConfig, PlatformError

DEFAULT_ORGANIZER_EMAIL = "organizer@hackathon.local"


def _secret_in(data_dir: Path) -> str:
    """The token-signing secret: HACKATHON_JWT_SECRET, else one generated once and kept in
    the data directory, so that tokens survive a restart."""
    if os.environ.get("HACKATHON_JWT_SECRET"):
        return os.environ["HACKATHON_JWT_SECRET"]
    path = data_dir / "jwt-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _organizer(data_dir: Path) -> tuple[str | None, str | None, bool]:
    """(email, password, generated). With the two variables set they are used; otherwise an
    organizer with a random password is created on the first start only (recorded, without the
    password, in the data directory) and its credentials are printed that once."""
    email = os.environ.get("HACKATHON_ORGANIZER_EMAIL")
    password = os.environ.get("HACKATHON_ORGANIZER_PASSWORD")
    if email and password:
        return email, password, False
    marker = data_dir / "organizer.json"
    if marker.exists():
        return json.loads(marker.read_text())["email"], None, False
    return DEFAULT_ORGANIZER_EMAIL, secrets.token_urlsafe(15), True


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    email, password, generated = _organizer(data_dir)
    databases: dict[str, str] = {}
    if args.database_url:
        try:
            databases = service_database_urls(args.database_url, SERVICES)
            for name in create_missing(databases.values()):
                print(f"Created the database {name}", flush=True)
        except DatabaseUrlError as error:
            print(f"could not start: {error}", file=sys.stderr)
            return 1
    config = PlatformConfig(
        data_dir=data_dir,
        gateway_port=args.gateway_port,
        broker_port=args.broker_port,
        jwt_secret=_secret_in(data_dir),
        organizer_email=email if password else None,
        organizer_password=password,
        database_urls=databases,
    )
    platform = Platform(config)
    print(f"Starting the hackathon platform (data in {data_dir}) ...", flush=True)
    try:
        platform.start()
    except PlatformError as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    if generated:
        (data_dir / "organizer.json").write_text(json.dumps({"email": email}))
    print(f"Gateway:    {platform.gateway_url}  (API under /api/v1, docs at /docs)")
    print(f"Broker:     {platform.bootstrap_servers}")
    if generated:
        print(f"Organizer:  {email}  password: {password}  (shown only this once)")
    elif password:
        print(f"Organizer:  {email}  (password from HACKATHON_ORGANIZER_PASSWORD)")
    else:
        print(f"Organizer:  {email}  (password was printed at the first start)")
    print("Databases:  " + (_shown(databases) if databases else f"SQLite files in {data_dir}"))
    print("Logs:       " + str(data_dir / "logs"))
    print("Press Ctrl-C to stop.", flush=True)

    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stopping:
        for line in platform.supervise():
            print(line, file=sys.stderr, flush=True)
        time.sleep(0.5)
    print("Stopping ...", flush=True)
    platform.stop()
    print("Stopped.")
    return 0


def _shown(databases: dict[str, str]) -> str:
    """The services' database URLs, without passwords."""
    return ", ".join(
        f"{service}: {make_url(url).render_as_string(hide_password=True)}"
        for service, url in databases.items()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hackathon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the platform on its embedded defaults")
    run_parser.add_argument(
        "--gateway-port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8080"))
    )
    run_parser.add_argument(
        "--broker-port", type=int, default=int(os.environ.get("HACKATHON_BROKER_PORT", "9092"))
    )
    run_parser.add_argument(
        "--data-dir", default=os.environ.get("HACKATHON_DATA_DIR", ".hackathon")
    )
    run_parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a PostgreSQL server (postgresql://user@host:port/base): one database per "
        "service, <base>_<service>, created if missing (default: SQLite files; DATABASE_URL)",
    )
    run_parser.set_defaults(handler=run)
    add_audit_commands(commands)
    add_key_commands(commands)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
