#!/usr/bin/env bash
# Build the lab's offline images (there is no image registry here) and save them
# as `docker save` archives.
#
#   lab/build-images.sh [--force] [IMAGE...]
#
#   IMAGE     any of: lab-node app-base consul hello world hello-world (default: all)
#   --force   rebuild the images even when they exist
#
# Images (each built only when `docker image inspect` does not find it):
#   swarmops/lab-node:bookworm  debootstrap'ed bookworm with dockerd: a lab "host"
#   swarmops/app-base:bookworm  debootstrap'ed bookworm with python3 only
#   swarmops/consul:1.8.7       Consul 1.8.7 from Debian bullseye's .deb, FROM scratch
#   swarmops/hello:V            the demo services from apps/<name>/Dockerfile, on
#   swarmops/world:V            app-base (V: the Dockerfile's ARG APP_VERSION). Each
#   swarmops/hello-world:V      carries the label swarmops.context-sha256, a hash of
#                               its sources and app-base's ID, and is rebuilt also
#                               when that hash changed. An app asked for alone brings
#                               app-base along when app-base does not exist yet.
#
# Archives: ${SWARMOPS_LAB_DIR:-<repo>/.lab}/images/<name>-<tag>.tar, with the image
# ID they hold in <name>-<tag>.id next to them; rewritten only when missing or when
# the image ID differs. Downloads are cached in ${SWARMOPS_LAB_DIR}/cache/.
#
# Environment:
#   SWARMOPS_LAB_DIR        lab state directory (default <repo>/.lab)
#   SWARMOPS_DEBIAN_MIRROR  Debian mirror (default: the machine's apt sources)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
LAB_DIR="${SWARMOPS_LAB_DIR:-${REPO_ROOT}/.lab}"
IMAGES_DIR="${LAB_DIR}/images"
CACHE_DIR="${LAB_DIR}/cache"
readonly SCRIPT_DIR REPO_ROOT LAB_DIR IMAGES_DIR CACHE_DIR

readonly SUITE=bookworm
readonly NODE_IMAGE=swarmops/lab-node:bookworm
readonly APP_IMAGE=swarmops/app-base:bookworm
readonly CONSUL_IMAGE=swarmops/consul:1.8.7
readonly CONSUL_VERSION=1.8.7
readonly CONSUL_SUITE=bullseye
readonly APPS_DIR="${REPO_ROOT}/apps"
readonly APPS=(hello world hello-world)
readonly ALL_IMAGES=(lab-node app-base consul "${APPS[@]}")
# On each app image: the hash of what it was built from (see app_context_hash).
readonly CONTEXT_LABEL=swarmops.context-sha256
readonly NODE_PACKAGES=python3,python3-venv,docker.io,iproute2,iptables,procps,ca-certificates
readonly APP_PACKAGES=python3
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The node's default command. Callers normally pass their own (playbooks/lab.yml does, see
# docs/lab.md, "Docker-in-Docker nodes"); this default keeps each node's cgroups apart via its hostname.
# shellcheck disable=SC2016 # $(hostname) is for the container's sh, not this script
readonly NODE_CMD='["/bin/sh","-c","exec dockerd --host=unix:///var/run/docker.sock --cgroup-parent=/swarmops-lab-$(hostname)"]'

FORCE=0
WORK_DIR=""
MIRROR=""
CHECK_CONTAINER=""

# shellcheck source=lab/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# ---------------------------------------------------------------- plumbing

# Unmount whatever a failed debootstrap left mounted below WORK_DIR, then remove it
# without crossing into other file systems.
cleanup() {
  [[ -z "$CHECK_CONTAINER" ]] || docker rm -f "$CHECK_CONTAINER" >/dev/null 2>&1 || true
  [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]] || return 0
  local mnt
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$WORK_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$WORK_DIR"
}

require_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (on Debian: apt-get install -y debootstrap)"
}

# A fresh Debian machine has no debootstrap: install it (as root, with apt) and say so.
install_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1 || return 0
  say "installing debootstrap with apt-get (needed to build the offline images)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; } \
    || die "apt-get install -y debootstrap failed"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect --format '{{.Id}}' "$1"; }
image_size() { docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1000000 }'; }
image_label() { docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1"; }

# swarmops/lab-node:bookworm -> lab-node-bookworm
archive_name() {
  local ref="${1#*/}"
  printf '%s\n' "${ref/:/-}"
}

# Print how long the command took ("lab: <what> took 12s").
timed() {
  local what="$1" start=$SECONDS
  shift
  "$@"
  say "${what} took $((SECONDS - start))s"
}


lock_lab_dir() {
  mkdir -p "$LAB_DIR" "$IMAGES_DIR" "$CACHE_DIR"
  exec 9>"${LAB_DIR}/.build-images.lock"
  if ! flock -n 9; then
    say "another build-images.sh holds ${LAB_DIR}/.build-images.lock; waiting (at most 30 min)"
    flock -w 1800 9 || die "gave up waiting for ${LAB_DIR}/.build-images.lock"
  fi
}

# ---------------------------------------------------------------- rootfs images

debootstrap_rootfs() {
  local packages="$1" root="$2"
  mkdir -p "${CACHE_DIR}/debootstrap"
  debootstrap --variant=minbase --include="$packages" \
    --cache-dir="${CACHE_DIR}/debootstrap" \
    "$SUITE" "$root" "$MIRROR" >"${root}.log" 2>&1 || {
    tail -n 20 "${root}.log" | sed 's/^/lab:   /' >&2
    die "debootstrap of ${SUITE} (${packages}) failed; full log above ends with the lines shown"
  }
}

# Drop what only costs size: package caches, apt lists, docs; and the build
# host's identity (docker provides /etc/hostname, hosts and resolv.conf at run time).
trim_rootfs() {
  local root="$1"
  rm -rf "${root}"/var/cache/apt/archives/*.deb "${root}"/var/cache/apt/*.bin \
    "${root}"/var/lib/apt/lists/* "${root}"/usr/share/man/* "${root}"/usr/share/info/* \
    "${root}"/var/log/*.log "${root}"/var/log/apt/*
  find "${root}/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  find "${root}/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
  : >"${root}/etc/resolv.conf"
  printf 'localhost\n' >"${root}/etc/hostname"
}

import_rootfs() {
  local root="$1" image="$2"
  shift 2
  tar --numeric-owner -C "$root" -c . | docker import "$@" - "$image" >/dev/null
}

build_rootfs_image() {
  local image="$1" packages="$2" root
  shift 2
  root="${WORK_DIR}/$(archive_name "$image")"
  say "building ${image}: debootstrap --variant=minbase ${SUITE} with ${packages} (mirror ${MIRROR})"
  timed "debootstrap for ${image}" debootstrap_rootfs "$packages" "$root"
  trim_rootfs "$root"
  timed "docker import of ${image}" import_rootfs "$root" "$image" "$@"
  rm -rf --one-file-system "$root"
}

build_lab_node() {
  build_rootfs_image "$NODE_IMAGE" "$NODE_PACKAGES" \
    --message "swarmops lab node: debootstrap ${SUITE} minbase + ${NODE_PACKAGES}" \
    --change "ENV PATH=${STD_PATH}" \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL org.opencontainers.image.title=swarmops-lab-node' \
    --change "LABEL org.opencontainers.image.version=${SUITE}" \
    --change 'VOLUME /var/lib/docker' \
    --change "CMD ${NODE_CMD}"
}

build_app_base() {
  build_rootfs_image "$APP_IMAGE" "$APP_PACKAGES" \
    --message "swarmops app base: debootstrap ${SUITE} minbase + ${APP_PACKAGES}" \
    --change "ENV PATH=${STD_PATH}" \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL org.opencontainers.image.title=swarmops-app-base' \
    --change "LABEL org.opencontainers.image.version=${SUITE}" \
    --change 'CMD ["python3"]'
}

# ---------------------------------------------------------------- consul image

# Consul 1.8.7 is in Debian bullseye only: download its .deb through a private
# apt configuration (the machine's own apt sources stay untouched). Cached.
fetch_consul_deb() {
  local dir="${CACHE_DIR}/consul" deb apt_dir
  mkdir -p "$dir"
  deb="$(find "$dir" -maxdepth 1 -name "consul_${CONSUL_VERSION}*_amd64.deb" -print -quit)"
  if [[ -n "$deb" ]]; then
    printf '%s\n' "$deb"
    return
  fi
  apt_dir="${WORK_DIR}/apt-${CONSUL_SUITE}"
  mkdir -p "${apt_dir}/lists/partial" "${apt_dir}/cache/archives/partial"
  printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$MIRROR" "$CONSUL_SUITE" >"${apt_dir}/sources.list"
  local apt_opts=(
    -o "Dir::Etc::sourcelist=${apt_dir}/sources.list"
    -o Dir::Etc::sourceparts=-
    -o "Dir::State::Lists=${apt_dir}/lists"
    -o "Dir::Cache=${apt_dir}/cache"
    -o APT::Sandbox::User=root
  )
  say "downloading consul ${CONSUL_VERSION} from ${MIRROR} ${CONSUL_SUITE} (private apt lists in a temp dir)" >&2
  apt-get -q "${apt_opts[@]}" update >"${apt_dir}/update.log" 2>&1 \
    || { cat "${apt_dir}/update.log" >&2; die "apt-get update for ${CONSUL_SUITE} failed"; }
  (cd "$dir" && apt-get -q "${apt_opts[@]}" download "consul=${CONSUL_VERSION}*" >&2) \
    || die "apt-get download consul=${CONSUL_VERSION}* from ${CONSUL_SUITE} failed"
  deb="$(find "$dir" -maxdepth 1 -name "consul_${CONSUL_VERSION}*_amd64.deb" -print -quit)"
  [[ -n "$deb" ]] || die "apt-get download left no consul_${CONSUL_VERSION}*.deb in ${dir}"
  printf '%s\n' "$deb"
}

# Absolute paths of the shared libraries (and loader) a binary needs.
shared_libs() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }'
}

# A FROM-scratch root: the consul binary, exactly the libraries ldd lists, and the
# few files glibc and Consul look for (users, NSS config, /tmp, /consul/*).
stage_consul_rootfs() {
  local deb="$1" rootfs="$2" extract="${WORK_DIR}/consul-deb" lib
  dpkg-deb -x "$deb" "$extract"
  install -D -m 0755 "${extract}/usr/bin/consul" "${rootfs}/bin/consul"
  while read -r lib; do
    install -D -m 0755 "$(readlink -f "$lib")" "${rootfs}${lib}"
  done < <(shared_libs "${extract}/usr/bin/consul")
  install -d -m 1777 "${rootfs}/tmp"
  install -d -m 0755 "${rootfs}/consul/data" "${rootfs}/consul/config" "${rootfs}/etc"
  printf 'root:x:0:0:root:/root:/bin/false\nconsul:x:100:1000:consul:/consul:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"${rootfs}/etc/passwd"
  printf 'root:x:0:\nconsul:x:1000:\nnogroup:x:65534:\n' >"${rootfs}/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"${rootfs}/etc/nsswitch.conf"
  cp "${extract}/usr/share/doc/consul/copyright" "${rootfs}/consul/COPYRIGHT" 2>/dev/null || true
}

build_consul() {
  local deb context="${WORK_DIR}/consul-context"
  deb="$(fetch_consul_deb)"
  dpkg-deb -f "$deb" Version | grep -q "^${CONSUL_VERSION}" \
    || die "${deb} is not consul ${CONSUL_VERSION}"
  say "building ${CONSUL_IMAGE} FROM scratch from $(basename "$deb")"
  stage_consul_rootfs "$deb" "${context}/rootfs"
  local no_cache=()
  ((FORCE == 0)) || no_cache=(--no-cache)
  DOCKER_BUILDKIT=0 docker build -q --force-rm "${no_cache[@]}" \
    --build-arg "CONSUL_VERSION=${CONSUL_VERSION}" \
    --build-arg "CONSUL_DEB=$(basename "$deb")" \
    -f "${SCRIPT_DIR}/images/consul/Dockerfile" -t "$CONSUL_IMAGE" "$context" \
    >"${WORK_DIR}/consul-build.log" 2>&1 || {
    sed 's/^/lab:   /' "${WORK_DIR}/consul-build.log" >&2
    die "docker build of ${CONSUL_IMAGE} failed"
  }
  docker run --rm --network none "$CONSUL_IMAGE" version | grep -q "^Consul v${CONSUL_VERSION}" \
    || die "${CONSUL_IMAGE} does not run 'consul version' as Consul v${CONSUL_VERSION}"
}

# ---------------------------------------------------------------- app images

# The version an app's Dockerfile declares (ARG APP_VERSION=...): its image's tag.
app_version() {
  local dockerfile="${APPS_DIR}/$1/Dockerfile" version
  [[ -r "$dockerfile" ]] || die "no ${dockerfile}"
  version="$(sed -n 's/^ARG APP_VERSION=\([^[:space:]]*\).*/\1/p' "$dockerfile")"
  [[ -n "$version" ]] || die "${dockerfile} declares no ARG APP_VERSION=..."
  printf '%s\n' "$version"
}

app_image() { printf 'swarmops/%s:%s\n' "$1" "$(app_version "$1")"; }

# swarmops/hello-world:0.2.0 -> hello-world; nothing for an image that is not an app.
app_of() {
  local name="${1#swarmops/}" app
  name="${name%%:*}"
  for app in "${APPS[@]}"; do
    if [[ "$app" == "$name" ]]; then
      printf '%s\n' "$app"
      return 0
    fi
  done
  return 0
}

# What an app image is built from: apps/.dockerignore, apps/common/, apps/<app>/
# (without what .dockerignore leaves out) and the ID of the base image.
app_context_hash() {
  local app="$1"
  {
    printf 'base %s\n' "$(image_id "$APP_IMAGE")"
    (cd "$APPS_DIR" && find .dockerignore common "$app" -type f \
      ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name '*.md' -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}

# The image must serve: start it without a network and run its own health check in it.
check_app_image() {
  local image="$1" try
  CHECK_CONTAINER="$(docker run -d --network none "$image")"
  for try in {1..20}; do
    if docker exec "$CHECK_CONTAINER" python3 /app/serve.py >/dev/null 2>&1; then
      docker rm -f "$CHECK_CONTAINER" >/dev/null
      CHECK_CONTAINER=""
      return 0
    fi
    sleep 0.5
  done
  docker logs --tail 20 "$CHECK_CONTAINER" 2>&1 | sed 's/^/lab:   /' >&2
  die "${image} did not answer its health check (python3 /app/serve.py) within ${try} tries"
}

build_app() {
  local image="$1" app log
  app="$(app_of "$image")"
  log="${WORK_DIR}/${app}-build.log"
  say "building ${image} from apps/${app}/Dockerfile on ${APP_IMAGE}"
  local no_cache=()
  ((FORCE == 0)) || no_cache=(--no-cache)
  DOCKER_BUILDKIT=0 docker build -q --force-rm "${no_cache[@]}" \
    --build-arg "BASE_IMAGE=${APP_IMAGE}" \
    --label "${CONTEXT_LABEL}=$(app_context_hash "$app")" \
    -f "${APPS_DIR}/${app}/Dockerfile" -t "$image" "$APPS_DIR" >"$log" 2>&1 || {
    sed 's/^/lab:   /' "$log" >&2
    die "docker build of ${image} failed"
  }
  check_app_image "$image"
}

# Why an existing image must be rebuilt even without --force (nothing: it need not).
# Only app images can go stale: when their build context hash differs from their label.
rebuild_reason() {
  local image="$1" app have want
  app="$(app_of "$image")"
  [[ -n "$app" ]] || return 0
  have="$(image_label "$image" "$CONTEXT_LABEL")"
  want="$(app_context_hash "$app")"
  [[ "$have" == "$want" ]] \
    || printf 'apps/%s, apps/common or %s changed (context %.12s, image built from %.12s)\n' \
      "$app" "$APP_IMAGE" "$want" "$have"
}

# ---------------------------------------------------------------- driver

# After --force the previous image is untagged: remove it unless a container
# still uses it (docker refuses then, and it stays until that container is gone).
remove_replaced_image() {
  local image="$1" old_id="$2"
  [[ -n "$old_id" && "$old_id" != "$(image_id "$image")" ]] || return 0
  if docker image rm "$old_id" >/dev/null 2>&1; then
    say "removed the replaced ${image} (${old_id:7:12})"
  else
    say "kept the replaced ${image} (${old_id:7:12}): still in use"
  fi
}

ensure_image() {
  local image="$1" builder="$2" old_id="" why
  if image_exists "$image"; then
    why="$(rebuild_reason "$image")"
    if ((FORCE == 0)) && [[ -z "$why" ]]; then
      say "${image} exists ($(image_size "$image")); not rebuilding (use --force to rebuild)"
      return
    fi
    [[ -z "$why" ]] || say "rebuilding ${image}: ${why}"
    old_id="$(image_id "$image")"
  fi
  timed "building ${image}" "$builder" "$image"
  say "built ${image} ($(image_size "$image"))"
  remove_replaced_image "$image" "$old_id"
}

ensure_archive() {
  local image="$1" name id tar id_file
  name="$(archive_name "$image")"
  tar="${IMAGES_DIR}/${name}.tar"
  id_file="${IMAGES_DIR}/${name}.id"
  id="$(image_id "$image")"
  if [[ -s "$tar" && -r "$id_file" && "$(cat "$id_file")" == "$id" ]]; then
    say "${tar} is current (${id:7:12})"
    return
  fi
  rm -f "$id_file"
  docker save -o "${tar}.partial" "$image"
  chmod 0644 "${tar}.partial"
  mv -f "${tar}.partial" "$tar"
  printf '%s\n' "$id" >"$id_file"
  say "saved ${image} (${id:7:12}) to ${tar} ($(du -m "$tar" | cut -f1) MiB)"
}

builder_for() {
  case "$1" in
    lab-node) echo "build_lab_node $NODE_IMAGE" ;;
    app-base) echo "build_app_base $APP_IMAGE" ;;
    consul) echo "build_consul $CONSUL_IMAGE" ;;
    hello | world | hello-world) echo "build_app $(app_image "$1")" ;;
    *) die "unknown image '$1' (known: ${ALL_IMAGES[*]})" ;;
  esac
}

# The images asked for in build order (app-base before the apps on it), and app-base
# also when an app is asked for and app-base does not exist.
build_order() {
  local name want app_wanted=0 base_wanted=0
  for want in "$@"; do
    [[ -z "$(app_of "swarmops/${want}")" ]] || app_wanted=1
    [[ "$want" != app-base ]] || base_wanted=1
  done
  if ((app_wanted && !base_wanted)) && ! image_exists "$APP_IMAGE"; then
    say "the app images need ${APP_IMAGE}, which does not exist: building it first" >&2
    set -- app-base "$@"
  fi
  for name in "${ALL_IMAGES[@]}"; do
    for want in "$@"; do
      if [[ "$want" == "$name" ]]; then
        printf '%s\n' "$name"
        break
      fi
    done
  done
}

main() {
  local wanted=() arg name builder image
  for arg in "$@"; do
    case "$arg" in
      --force) FORCE=1 ;;
      -h | --help) usage; return 0 ;;
      -*) die "unknown option '$arg' (see --help)" ;;
      *) wanted+=("$arg") ;;
    esac
  done
  ((${#wanted[@]} > 0)) || wanted=("${ALL_IMAGES[@]}")
  for name in "${wanted[@]}"; do builder_for "$name" >/dev/null; done

  "${SCRIPT_DIR}/engine.sh"
  install_debootstrap
  require_tools docker debootstrap apt-get dpkg-deb ldd flock tar
  [[ "$(id -u)" -eq 0 ]] || die "debootstrap needs root; run as root"
  lock_lab_dir
  MIRROR="$(debian_mirror)"
  WORK_DIR="$(mktemp -d "${LAB_DIR}/tmp.build-images.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  mapfile -t wanted < <(build_order "${wanted[@]}")
  for name in "${wanted[@]}"; do
    read -r builder image < <(builder_for "$name")
    ensure_image "$image" "$builder"
    ensure_archive "$image"
  done
}

main "$@"
