#!/usr/bin/env bash
# Boots an image from `pith image build` under QEMU (TCG, no confidential
# hardware needed) for a look at it: direct kernel boot, the model as the
# first virtio disk (read-only), user networking with the server forwarded
# to 127.0.0.1:PORT only, the serial console on this terminal. Ctrl-A X
# quits; `system_powerdown` on the QMP socket ${TMPDIR:-/tmp}/pith-image-PORT.qmp
# powers it off the way a cloud does.
#
#   scripts/image-qemu.sh DIR MODEL [PORT]      (PORT defaults to 8080)
#
# The image must have been built with --attest dev for plain QEMU: "auto"
# finds no SEV-SNP or TDX guest device here and powers off, as it should.
# The vCPUs share one host thread (-accel tcg,thread=single): QEMU 10.0's
# thread per vCPU can abort in iotlb_to_section while the guest assigns PCI
# BARs (QEMU issue 1921), as it once did in pith's CI.
# Then: bin/pith summarize --url http://127.0.0.1:PORT --manifest DIR/manifest.json --allow-dev chat.txt
set -euo pipefail
dir=${1:?usage: image-qemu.sh DIR MODEL [PORT]}
model=${2:?usage: image-qemu.sh DIR MODEL [PORT]}
port=${3:-8080}
guest_port=8080
if grep -qo 'pith.listen=[^ ]*' "$dir/cmdline"; then
  guest_port=$(grep -o 'pith.listen=[^ ]*' "$dir/cmdline" | sed 's/.*://')
fi
exec qemu-system-x86_64 -machine q35 -accel tcg,thread=single -cpu max -smp 2 -m 2048 -no-reboot \
  -nographic -nodefaults -serial mon:stdio \
  -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" -append "$(cat "$dir/cmdline")" \
  -drive "file=$model,if=virtio,format=raw,readonly=on" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:$guest_port" -device virtio-net-pci,netdev=n0 \
  -qmp "unix:${TMPDIR:-/tmp}/pith-image-$port.qmp,server=on,wait=off"
