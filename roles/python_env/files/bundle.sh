#!/bin/sh
# Controller side of an offline install: download the wheels once, install them into a
# staging directory once, and keep the result as one archive that each host unpacks into
# its virtualenv (one transfer per host instead of one per wheel, and no pip on the host).
# Usage: bundle.sh PYTHON DIR PACKAGE...   Prints: built|kept VERSION SHA256 ARCHIVE
set -eu
python=$1
dir=$2
shift 2
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
bundle=$dir/site-packages-py$version.tar.gz
state=kept
if [ ! -f "$bundle" ]; then
  mkdir -p "$dir/wheels"
  "$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --dest "$dir/wheels" "$@"
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  "$python" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$dir/wheels" \
    --no-compile --target "$stage/site" "$@"
  # Console scripts would point at the controller's interpreter: the modules only import.
  rm -rf "$stage/site/bin"
  tar -C "$stage/site" -czf "$bundle.partial" .
  mv "$bundle.partial" "$bundle"
  state=built
fi
sum=$(sha256sum "$bundle" | cut -d' ' -f1)
echo "$state $version $sum $bundle"
