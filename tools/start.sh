#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds, makes a development
# certificate and the demo accounts, then runs the server in the foreground.
#   sudo tools/start.sh
set -euo pipefail
# shellcheck source=tools/lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
cd "$TC_ROOT"

CONF=var/telecounter.conf

# The URL the config says customers see (public_url), else the default.
public_url() {
    local url
    url="$(sed -n -E 's/^[[:space:]]*public_url[[:space:]]*=[[:space:]]*([^[:space:]]+).*/\1/p' \
        "$CONF" | tail -n 1)"
    printf '%s' "${url:-https://localhost:8443}"
}

tc_install_packages
tc_build_srtp || true # it has said why; the build falls back to the system libsrtp2
tc_build build
tc_dev_cert
tc_dev_database
if [[ ! -f "$CONF" ]]; then
    tc_say "writing $CONF from telecounter.conf.example"
    cp telecounter.conf.example "$CONF"
fi

url="$(public_url)"
cat <<MSG
==> starting telecounter ($CONF); Ctrl-C stops it

    $url          server
    $url/join     customer: join a desk
    $url/agent    agent console (user demo)
    $url/ops      ops dashboard (user ops)

    The certificate is self-signed (certs/README.md): accept it once in the browser.

MSG
exec build/telecounter --config "$CONF"
