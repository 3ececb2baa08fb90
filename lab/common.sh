# shellcheck shell=bash
# Shared by the lab's scripts (sourced, not run): messages and the Debian mirror.

say() { printf 'lab: %s\n' "$*"; }
die() {
  printf 'lab: ERROR: %s\n' "$*" >&2
  exit 1
}

# The Debian mirror this machine's apt already uses (deb822 or one-line format), or
# SWARMOPS_DEBIAN_MIRROR; the security and third-party sources are left out on purpose.
debian_mirror() {
  local uri="${SWARMOPS_DEBIAN_MIRROR:-}"
  if [[ -z "$uri" ]]; then
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')"
  fi
  if [[ -z "$uri" ]]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }')"
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}
