#!/usr/bin/env bash
# Installs Debian packages that are not installed yet; retries a failed install once (the package
# mirror here sometimes fails once with "No such file"). Package installs never start system services:
# Vigil's tests start their own peers on 127.0.0.1 and stop them by PID.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "apt-install: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "apt-install: ${missing[*]}"
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1
fi
trap '[ $made_policy = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/vigil-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
  apt-get update -qq || apt-get update -qq
  mkdir -p "$(dirname "$stamp")"; touch "$stamp"
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
  { sleep 2; apt-get update -qq; apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
