#!/usr/bin/env bash
# Installs Bochs (an x86 emulator with AVX-512 and VNNI) and what its boot
# CD needs, idempotently, for make test-avx512-emulated
# (internal/cmd/emutest). Needs root and Debian's archive.
set -euo pipefail
log() { printf 'install-bochs: %s\n' "$*" >&2; }

need=()
command -v bochs >/dev/null || need+=(bochs)
command -v genisoimage >/dev/null || need+=(genisoimage)
[ -f /usr/share/bochs/BIOS-bochs-latest ] || need+=(bochsbios)
[ -f /usr/share/vgabios/vgabios.bin ] || need+=(vgabios)
[ -f /usr/lib/ISOLINUX/isolinux.bin ] || need+=(isolinux)
[ -f /usr/lib/syslinux/modules/bios/ldlinux.c32 ] || need+=(syslinux-common)
if [ ${#need[@]} -eq 0 ]; then
  log "$(bochs --help 2>&1 | sed -n 's/^ *\(Bochs x86 Emulator .*\)/\1/p' | head -1)"
  exit 0
fi
log "apt-get install ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
command -v bochs >/dev/null || { log "bochs still missing"; exit 1; }
