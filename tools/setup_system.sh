#!/usr/bin/env bash
# Install the Debian packages foley-edge needs, only when some are missing.
# Idempotent: prints nothing and exits 0 when everything is already installed.
set -euo pipefail
packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi libstdc++-arm-none-eabi-dev
          qemu-system-arm
          fluidsynth fluid-soundfont-gm valgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run=(sudo)
  else
    echo "foley-edge setup: missing Debian packages: ${missing[*]}" >&2
    echo "  run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  run=()
fi
echo "foley-edge setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
