#!/usr/bin/env bash
# The headless browser for the portal's end-to-end test: Debian's chromium and its driver.
#
#   infra/browser.sh install   install them if missing (apt; as root, or through sudo)
#
# The test finds them at /usr/bin/chromium and /usr/bin/chromedriver, or where
# CLIENTWATCH_CHROMIUM and CLIENTWATCH_CHROMEDRIVER say.
set -euo pipefail

install() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    return
  fi
  echo "browser: installing Debian's chromium and chromium-driver (once)" >&2
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  chromium --version >&2
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
