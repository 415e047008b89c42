#!/usr/bin/env bash
# Downloads the Debian packages image/lock.json pins into a cache folder
# (default ~/.cache/pith/image-inputs), with apt-get download and a private
# apt state folder, so the host's apt configuration is not touched and sid
# packages come from sid without being installable. `pith image build`
# checks every digest itself: this script only fetches, it is not trusted.
# Idempotent: a package already in the folder is not fetched again.
#
#   image-inputs.sh [CACHE_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
lock=$here/image/lock.json
cache=${1:-${PITH_IMAGE_INPUTS:-$HOME/.cache/pith/image-inputs}}
mkdir -p "$cache"
log() { printf 'image-inputs: %s\n' "$*" >&2; }

state=$cache/.apt
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/etc"
cat >"$state/etc/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
SRC
apt_opts=(-o "Dir::State=$state" -o "Dir::State::Lists=$state/lists" -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$state/cache" -o "Dir::Etc::SourceList=$state/etc/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null" -o "APT::Architecture=amd64" -o "APT::Sandbox::User=root")

# package=version lines from the lock file, without jq.
mapfile -t want < <(python3 -c '
import json,sys
for p in json.load(open(sys.argv[1]))["packages"]:
    print(p["package"] + "=" + p["version"])' "$lock")

updated=0
for pv in "${want[@]}"; do
  pkg=${pv%%=*}; ver=${pv#*=}
  # apt-get download names files PACKAGE_VERSION_ARCH.deb with ':' as %3a.
  if compgen -G "$cache/${pkg}_${ver//:/%3a}_*.deb" >/dev/null; then continue; fi
  if [ $updated = 0 ]; then
    log "apt-get update (private state in $state)"
    apt-get "${apt_opts[@]}" update -qq
    updated=1
  fi
  log "apt-get download $pv"
  (cd "$cache" && apt-get "${apt_opts[@]}" download -qq "$pv")
done
log "ready in $cache"
