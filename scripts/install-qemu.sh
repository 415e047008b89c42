#!/usr/bin/env bash
# Installs QEMU 10.x (qemu-system-x86) from Debian bookworm-backports,
# idempotently, for the image boot test (cmd/pith, TestImageBootQEMU).
# Bookworm's own QEMU 7.2 crashes the guest kernel under TCG about one boot in
# five (see ../shared/ENVIRONMENT.md); 10.x from backports booted every time.
# Needs root and Debian's archive.
set -euo pipefail
log() { printf 'install-qemu: %s\n' "$*" >&2; }

have_major() {
  command -v qemu-system-x86_64 >/dev/null || return 1
  local v
  v=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
  [ -n "$v" ] && [ "$v" -ge 10 ]
}

if have_major; then
  log "$(qemu-system-x86_64 --version | head -1)"
  exit 0
fi

src=/etc/apt/sources.list.d/pith-bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding bookworm-backports to apt sources ($src)"
  cat >"$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
log "apt-get install -t bookworm-backports qemu-system-x86 (a minute or two)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -t bookworm-backports qemu-system-x86 >/dev/null
have_major || { log "qemu-system-x86_64 10.x still missing"; exit 1; }
log "$(qemu-system-x86_64 --version | head -1)"
