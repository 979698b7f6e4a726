# shellcheck shell=bash
# tools/lib/setup.sh: the set-up shared by tools/start.sh and tools/test.sh.
# Sourced, not run. Every step is idempotent and cheap when there is nothing to do,
# because CI starts from a fresh machine every time and this file must bring it all.
#
#   tc_install_packages   Debian packages (the list below)
#   tc_build_srtp         libsrtp2 with OpenSSL crypto, static, into build-deps/srtp
#   tc_build DIR [ARGS]   cmake configure + build (-j2) into DIR
#   tc_dev_cert           certs/dev-cert.pem + certs/dev-key.pem (self-signed, localhost)
#   tc_dev_database       var/telecounter.db with the demo accounts
#
# Functions return non-zero on failure and say why; they do not rely on `set -e`, which
# bash switches off inside a function called from `if` or `||`.

set -euo pipefail

# Everything the build, the tests and the dev server need. Add new packages here.
TC_PACKAGES=(
    build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
    libwebsockets-dev libwebsockets-evlib-glib libglib2.0-dev libnice-dev libsrtp2-dev
    libopus-dev libjansson-dev libsqlite3-dev sqlite3 libcmocka-dev libsodium-dev
    libssl-dev liburing-dev openssl tzdata python3 python3-websockets iproute2 chromium nodejs npm dpkg-dev
    firefox-esr gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-nice python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0
)

TC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TC_JOBS=2
TC_DEPS_DIR="$TC_ROOT/build-deps"
TC_SRTP_PREFIX="$TC_DEPS_DIR/srtp"
TC_SRTP_FLAGS="--enable-openssl --disable-pcap"
TC_SRC_LIST_DIR=/etc/apt/sources.list.d

tc_say() {
    printf '==> %s\n' "$*"
}

tc_warn() {
    printf '\n!!! WARNING: %s\n\n' "$*" >&2
}

tc_error() {
    printf '\n!!! ERROR: %s\n\n' "$*" >&2
}

# Runs "$@" with its output in LOG; on failure shows the log's tail and returns the status.
tc_logged() {
    local log="$1" rc=0
    shift
    mkdir -p "$(dirname "$log")" || return 1
    "$@" >"$log" 2>&1 || rc=$?
    if [[ "$rc" -ne 0 ]]; then
        printf '!!! failed (exit %s): %s\n--- last lines of %s:\n' "$rc" "$*" "$log" >&2
        tail -n 60 "$log" >&2
        printf -- '---\n' >&2
    fi
    return "$rc"
}

tc_now() {
    date +%s.%N
}

# Seconds since START (from tc_now), one decimal.
tc_since() {
    awk -v s="$1" -v e="$(tc_now)" 'BEGIN { printf "%.1f", e - s }'
}

tc_is_root() {
    [[ "$(id -u)" -eq 0 ]]
}

# ---- packages ---------------------------------------------------------------

# Names of installed packages and of what they provide (nodesource's nodejs provides npm).
tc_installed_names() {
    dpkg-query -W -f='${db:Status-Status} ${Package} ${Provides}\n' 2>/dev/null |
        awk '$1 == "installed" {
            $1 = ""; gsub(/\([^)]*\)/, ""); gsub(/,/, " ")
            for (i = 1; i <= NF; i++) print $i
        }'
}

tc_missing_packages() {
    local installed pkg
    installed="$(tc_installed_names | sort -u)" || return 1
    for pkg in "${TC_PACKAGES[@]}"; do
        grep -Fxq -- "$pkg" <<<"$installed" || printf '%s\n' "$pkg"
    done
}

tc_install_packages() {
    local start missing
    start="$(tc_now)"
    tc_say "checking packages"
    mapfile -t missing < <(tc_missing_packages)
    if [[ "${#missing[@]}" -eq 0 ]]; then
        tc_say "all ${#TC_PACKAGES[@]} packages present ($(tc_since "$start") s)"
        return 0
    fi
    if ! tc_is_root; then
        tc_error "missing packages: ${missing[*]} (run with sudo to install them)"
        return 1
    fi
    tc_say "installing packages: ${missing[*]}"
    local logs="$TC_DEPS_DIR/logs"
    tc_logged "$logs/apt-update.log" apt-get update || return 1
    tc_logged "$logs/apt-install.log" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}" || return 1
    tc_say "packages installed ($(tc_since "$start") s)"
}

# ---- libsrtp2 with OpenSSL ----------------------------------------------------
# Debian's libsrtp2 uses NSS, which does ~40-45k AES-CM protect+unprotect pairs/s/core;
# the same source built with --enable-openssl does ~270k. We build Debian's own source
# package (same version and patches as the installed libsrtp2-dev) as a static library.

# Debian source version of the installed libsrtp2-dev, e.g. 2.5.0-3.
tc_srtp_version() {
    dpkg-query -W -f='${source:Version}' libsrtp2-dev 2>/dev/null
}

tc_srtp_stamp() {
    printf 'libsrtp2 %s %s\n' "$(tc_srtp_version)" "$TC_SRTP_FLAGS"
}

# True when build-deps/srtp holds a build of the installed version.
tc_srtp_ready() {
    [[ -f "$TC_SRTP_PREFIX/lib/libsrtp2.a" && -f "$TC_SRTP_PREFIX/include/srtp2/srtp.h" ]] &&
        [[ "$(cat "$TC_SRTP_PREFIX/.stamp" 2>/dev/null)" == "$(tc_srtp_stamp)" ]]
}

# Prints deb822 stanzas of FILE for this release's suites, as deb-src only.
tc_deb822_to_src() {
    awk -v cn="$1" '
        function flush(i) {
            if (keep && src && !off && n) { for (i = 1; i <= n; i++) print buf[i]; print "" }
            n = 0; keep = 0; src = 0; off = 0
        }
        /^[[:space:]]*$/ { flush(); next }
        { buf[++n] = $0 }
        tolower($1) == "types:" && $0 ~ /[[:space:]]deb([[:space:]]|$)/ && $0 !~ /deb-src/ {
            buf[n] = "Types: deb-src"; src = 1
        }
        tolower($1) == "enabled:" && tolower($2) == "no" { off = 1 }
        tolower($1) == "suites:" {
            for (i = 2; i <= NF; i++) if ($i == cn || index($i, cn "-") == 1) keep = 1
        }
        END { flush() }
    ' "$2"
}

# Prints a deb-src line for each classic "deb" line of FILE for this release.
tc_list_to_src() {
    grep -E "^[[:space:]]*deb[[:space:]].*[[:space:]]$1(-[a-z]+)?[[:space:]]" "$2" |
        sed -E 's/^[[:space:]]*deb[[:space:]]/deb-src /'
}

# Writes telecounter-src.{sources,list} derived from the machine's own apt sources, so
# that no mirror is named here. Debian 12 uses deb822 files; older set-ups, sources.list.
tc_write_src_lists() {
    local codename f out_sources out_list
    codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
    [[ -n "$codename" ]] || { tc_error "no VERSION_CODENAME in /etc/os-release"; return 1; }
    out_sources="$TC_SRC_LIST_DIR/telecounter-src.sources"
    out_list="$TC_SRC_LIST_DIR/telecounter-src.list"
    rm -f "$out_sources" "$out_list"
    for f in "$TC_SRC_LIST_DIR"/*.sources; do
        [[ -f "$f" && "$f" != "$out_sources" ]] || continue
        tc_deb822_to_src "$codename" "$f" >>"$out_sources.tmp" || return 1
    done
    for f in /etc/apt/sources.list "$TC_SRC_LIST_DIR"/*.list; do
        [[ -f "$f" && "$f" != "$out_list" ]] || continue
        tc_list_to_src "$codename" "$f" >>"$out_list.tmp" || true
    done
    [[ -s "$out_sources.tmp" ]] && mv "$out_sources.tmp" "$out_sources"
    [[ -s "$out_list.tmp" ]] && mv "$out_list.tmp" "$out_list"
    rm -f "$out_sources.tmp" "$out_list.tmp"
    [[ -f "$out_sources" || -f "$out_list" ]] ||
        { tc_error "no apt source for '$codename' found to derive deb-src from"; return 1; }
}

tc_remove_src_lists() {
    rm -f "$TC_SRC_LIST_DIR/telecounter-src.sources" "$TC_SRC_LIST_DIR/telecounter-src.list"
}

# apt options that read only our deb-src lists (a fast update that leaves the rest alone).
tc_src_apt_opts() {
    local f
    for f in "$TC_SRC_LIST_DIR/telecounter-src.sources" "$TC_SRC_LIST_DIR/telecounter-src.list"; do
        [[ -f "$f" ]] && printf '%s\n' "-o" "Dir::Etc::SourceList=$f" && break
    done
    printf '%s\n' -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0 \
        -o APT::Sandbox::User=root
}

# Downloads the source of libsrtp2 VERSION into DIR.
tc_srtp_fetch() {
    local version="$1" dir="$2" logs="$TC_DEPS_DIR/logs" opts rc=0
    tc_write_src_lists || return 1
    mapfile -t opts < <(tc_src_apt_opts)
    # With both kinds of file present, the update reads one; a plain update covers the rest.
    if [[ -f "$TC_SRC_LIST_DIR/telecounter-src.sources" &&
        -f "$TC_SRC_LIST_DIR/telecounter-src.list" ]]; then
        opts=(-o APT::Sandbox::User=root)
    fi
    tc_logged "$logs/srtp-apt-update.log" apt-get "${opts[@]}" update &&
        (cd "$dir" && tc_logged "$logs/srtp-apt-source.log" \
            apt-get "${opts[@]}" source "libsrtp2=$version") || rc=$?
    tc_remove_src_lists
    return "$rc"
}

# Configures, builds and installs libsrtp2.a from the unpacked source SRC under DESTDIR.
tc_srtp_compile() {
    local src="$1" dest="$2" logs="$TC_DEPS_DIR/logs"
    # configure adds -fPIC (and -O3) itself when CFLAGS is empty; libsrtp2 2.5 has no
    # --disable-shared: the default target is the static library, shared is opt-in.
    # shellcheck disable=SC2086 # TC_SRTP_FLAGS is a list of flags
    (cd "$src" && tc_logged "$logs/srtp-configure.log" \
        ./configure --prefix="$TC_SRTP_PREFIX" $TC_SRTP_FLAGS) || return 1
    grep -q '^#define OPENSSL 1' "$src/crypto/include/config.h" "$src/config.h" 2>/dev/null ||
        { tc_error "libsrtp2 configure did not select OpenSSL"; return 1; }
    tc_logged "$logs/srtp-make.log" make -C "$src" -j"$TC_JOBS" libsrtp2.a || return 1
    tc_logged "$logs/srtp-install.log" make -C "$src" install DESTDIR="$dest" || return 1
    grep -q 'EVP_' <(nm "$dest$TC_SRTP_PREFIX/lib/libsrtp2.a" 2>/dev/null) ||
        { tc_error "libsrtp2.a does not reference OpenSSL"; return 1; }
}

tc_srtp_fetch_build() {
    local version="$1" tmp src rc=0
    mkdir -p "$TC_DEPS_DIR" || return 1
    tmp="$(mktemp -d "$TC_DEPS_DIR/srtp-src.XXXXXX")" || return 1
    tc_say "fetching libsrtp2 $version source (deb-src derived from this machine's apt sources)"
    if tc_srtp_fetch "$version" "$tmp"; then
        src="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'libsrtp2-*' | head -n 1)"
        tc_say "building libsrtp2 $version ($TC_SRTP_FLAGS, static)"
        if [[ -n "$src" ]] && tc_srtp_compile "$src" "$tmp/dest"; then
            rm -rf "$TC_SRTP_PREFIX" && mv "$tmp/dest$TC_SRTP_PREFIX" "$TC_SRTP_PREFIX" &&
                tc_srtp_stamp >"$TC_SRTP_PREFIX/.stamp" || rc=1
        else
            rc=1
        fi
    else
        rc=1
    fi
    rm -rf "$tmp"
    return "$rc"
}

tc_build_srtp() {
    local start version
    start="$(tc_now)"
    version="$(tc_srtp_version)" || version=""
    if [[ -z "$version" ]]; then
        tc_warn "libsrtp2-dev is not installed; cannot build the fast libsrtp2"
        return 1
    fi
    if tc_srtp_ready; then
        tc_say "libsrtp2 $version (OpenSSL, static) already in build-deps/srtp"
        return 0
    fi
    if ! tc_is_root; then
        tc_warn "the fast libsrtp2 build needs root (apt-get source); using the system" \
            "libsrtp2 (NSS, ~6x slower AES-CM). Run with sudo to build it."
        return 1
    fi
    if ! tc_srtp_fetch_build "$version"; then
        tc_warn "building libsrtp2 with OpenSSL FAILED (logs: build-deps/logs/srtp-*.log);" \
            "falling back to the system libsrtp2 (NSS, ~6x slower AES-CM)"
        return 1
    fi
    tc_say "libsrtp2 $version built with OpenSSL in $(tc_since "$start") s"
}

# ---- build ----------------------------------------------------------------------

# cmake arguments common to every build directory.
tc_cmake_args() {
    if tc_srtp_ready; then
        printf '%s\n' "-DTC_SRTP_PREFIX=$TC_SRTP_PREFIX"
    else
        printf '%s\n' "-DTC_SRTP_PREFIX=" # clears a stale cached prefix
    fi
    # Explicit both ways, so that a cached value from an earlier configure does not stick.
    if [[ -n "${CI:-}" ]]; then
        printf '%s\n' "-DTC_WERROR=ON"
    else
        printf '%s\n' "-DTC_WERROR=OFF"
    fi
}

# Prints the compiler warnings of a build log, if any.
tc_show_warnings() {
    local count
    count="$(grep -c 'warning:' "$1" || true)"
    [[ "$count" -eq 0 ]] && return 0
    printf '!!! %s compiler warning line(s) (full log: %s):\n' "$count" "$1"
    grep 'warning:' "$1" | head -n 20
}

# tc_build DIR [cmake args...]: configure and build DIR (relative to the top of the tree).
tc_build() {
    local dir="$1" start args
    shift
    start="$(tc_now)"
    mapfile -t args < <(tc_cmake_args)
    tc_say "building $dir/ ${*}"
    tc_logged "$TC_ROOT/$dir/logs/configure.log" \
        cmake -S "$TC_ROOT" -B "$TC_ROOT/$dir" "${args[@]}" "$@" || return 1
    if grep -q 'CMake Warning' "$TC_ROOT/$dir/logs/configure.log"; then
        grep -A4 'CMake Warning' "$TC_ROOT/$dir/logs/configure.log"
    fi
    tc_logged "$TC_ROOT/$dir/logs/build.log" \
        cmake --build "$TC_ROOT/$dir" -j"$TC_JOBS" || return 1
    tc_show_warnings "$TC_ROOT/$dir/logs/build.log"
    tc_say "built $dir/ in $(tc_since "$start") s; $(grep -h 'TC_SRTP_BACKEND' \
        "$TC_ROOT/$dir/generated/build_info.h" 2>/dev/null | cut -d' ' -f3-)"
}

# ---- development certificate and database ------------------------------------------

tc_dev_cert() {
    local dir="$TC_ROOT/certs" rc=0
    if [[ -f "$dir/dev-cert.pem" && -f "$dir/dev-key.pem" ]]; then
        return 0
    fi
    tc_say "making a self-signed development certificate in certs/ (localhost, 825 days)"
    mkdir -p "$dir" || return 1
    # A key and its certificate go together: make both, then move them into place.
    (
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
            -subj /CN=localhost -keyout "$dir/dev-key.pem.tmp" -out "$dir/dev-cert.pem.tmp" \
            -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' \
            -addext 'basicConstraints=critical,CA:FALSE' \
            -addext 'keyUsage=critical,digitalSignature' \
            -addext 'extendedKeyUsage=serverAuth'
    ) >"$dir/openssl.log.tmp" 2>&1 || rc=$?
    if [[ "$rc" -ne 0 ]]; then
        cat "$dir/openssl.log.tmp" >&2
        rm -f "$dir"/*.tmp
        tc_error "openssl could not make the development certificate"
        return 1
    fi
    chmod 0600 "$dir/dev-key.pem.tmp" && chmod 0644 "$dir/dev-cert.pem.tmp" &&
        mv "$dir/dev-key.pem.tmp" "$dir/dev-key.pem" &&
        mv "$dir/dev-cert.pem.tmp" "$dir/dev-cert.pem" || return 1
    rm -f "$dir/openssl.log.tmp"
}

TC_ADMIN_BIN="build/telecounter-admin"
TC_DEV_DB="var/telecounter.db"

# list-accounts prints one account a line; the username is in the USERNAME column when
# there is a header line, else first.
tc_has_account() {
    "$TC_ROOT/$TC_ADMIN_BIN" --db "$TC_ROOT/$TC_DEV_DB" list-accounts 2>/dev/null |
        awk -v user="$1" '
            NR == 1 { col = 1; for (i = 1; i <= NF; i++) if ($i == "USERNAME") { col = i; next } }
            $col == user { found = 1 }
            END { exit !found }'
}

# Adds account USER (further arguments go to add-account) and prints its password.
tc_add_account() {
    local user="$1" out
    shift
    out="$("$TC_ROOT/$TC_ADMIN_BIN" --db "$TC_ROOT/$TC_DEV_DB" add-account "$user" "$@")" || {
        tc_error "telecounter-admin add-account $user failed"
        return 1
    }
    sed -n 's/^password: *//p' <<<"$out" | head -n 1
}

# Prints the credentials, once, in a box. Arguments: "user password" pairs.
tc_credentials_box() {
    local line
    printf '\n+----------------------------------------------------------+\n'
    printf '| %-56s |\n' "Demo accounts (shown once, stored nowhere else):"
    for line in "$@"; do
        printf '|   %-54s |\n' "$line"
    done
    printf '+----------------------------------------------------------+\n\n'
}

tc_dev_database() {
    local created=() pw
    mkdir -p "$TC_ROOT/var" || return 1
    if [[ ! -x "$TC_ROOT/$TC_ADMIN_BIN" ]]; then
        tc_error "$TC_ADMIN_BIN is missing: build first"
        return 1
    fi
    if ! tc_has_account demo; then
        tc_say "adding demo account 'demo' (agent) to $TC_DEV_DB"
        pw="$(tc_add_account demo --role agent --skills id_check,broadband,urgent_sim \
            --name "Demo Agent")" || return 1
        created+=("user demo  password ${pw:-(not printed by telecounter-admin)}  /agent")
    fi
    if ! tc_has_account ops; then
        tc_say "adding demo account 'ops' (ops) to $TC_DEV_DB"
        pw="$(tc_add_account ops --role ops --name "Ops")" || return 1
        created+=("user ops   password ${pw:-(not printed by telecounter-admin)}  /ops")
    fi
    if [[ "${#created[@]}" -gt 0 ]]; then
        tc_credentials_box "${created[@]}"
    fi
}
