#!/usr/bin/env bash
# Re-resolve the workspace and write the hashed requirement files that are committed.
# uv.lock records download addresses, so it stays out of git; the exported files do not.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=.venv/bin/uv; [ -x "$uv" ] || uv=uv
"$uv" lock
printf "hatchling\neditables\n" | "$uv" pip compile --quiet --generate-hashes --no-header \
  --python-version 3.11 - -o requirements/build.txt
"$uv" export --frozen --no-emit-workspace --all-packages --all-groups --no-header --quiet -o requirements/dev.txt
for svc in registration submissions scoring notifications gateway web; do
  "$uv" export --frozen --no-emit-workspace --package "hackathon-$svc" --no-dev --no-header --quiet \
    -o "requirements/$svc.txt"
done
