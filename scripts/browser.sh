#!/usr/bin/env bash
# Installs what the browser tests drive: Debian's Chromium (Playwright's own browser download
# does not work here; the tests give Playwright this binary as executable_path). Safe to run
# again: it installs only when /usr/bin/chromium is missing. Needs root or sudo, as on CI.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ]; then as_root=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y --no-install-recommends chromium >/dev/null
fi
/usr/bin/chromium --version
