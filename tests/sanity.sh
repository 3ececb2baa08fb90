#!/usr/bin/env bash
# Run `ansible-test sanity` on this collection.
#
# ansible-test needs the collection at .../ansible_collections/<namespace>/<name>/, so this copies
# the repository's tracked and untracked-but-not-ignored files (never .venv, .lab, tests/output,
# ...) into a temporary tree of that shape, runs the tests there and removes the tree again.
# Extra arguments go to ansible-test, e.g.  tests/sanity.sh --test validate-modules
#
# Needs only `pip install -r requirements-test.txt` (ansible-core brings ansible-test) and PyPI.
# Exits non-zero when any sanity test fails.
set -euo pipefail

PYTHON_VERSION="${SANITY_PYTHON_VERSION:-3.11}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
namespace="$(sed -n 's/^namespace:[[:space:]]*//p' "$repo/galaxy.yml" | tr -d "\"' ")"
name="$(sed -n 's/^name:[[:space:]]*//p' "$repo/galaxy.yml" | tr -d "\"' ")"

ansible_test="$(command -v ansible-test)" || {
    echo "sanity.sh: ansible-test not found; run: pip install -r requirements-test.txt" >&2
    exit 2
}
# The Python that ansible-test is installed for: the one in its shebang when that is a Python
# (pip's console scripts), else python3 (e.g. behind a pyenv shim). PYTHON overrides.
if [[ -z "${PYTHON:-}" ]]; then
    PYTHON=python3
    shebang=""
    read -r shebang <"$ansible_test" || true
    if [[ "$shebang" =~ ^#!(/[^[:space:]]*python[0-9.]*)$ && -x "${BASH_REMATCH[1]}" ]]; then
        PYTHON="${BASH_REMATCH[1]}"
    fi
fi

# ansible-test bootstraps pip in each test venv from a script it downloads from a host that may be
# unreachable; it uses a cached copy at ~/.ansible/test/cache/get_pip_<pip version>.py first. A
# stand-in that bootstraps the pip bundled with Python works as well. The pip version is the one
# the installed ansible-test asks for.
pip_version="$(
    "$PYTHON" - "$PYTHON_VERSION" <<'PY'
import sys
from types import SimpleNamespace

from ansible_test._internal.python_requirements import get_venv_packages

print(get_venv_packages(SimpleNamespace(version=sys.argv[1]))["pip"])
PY
)" || {
    echo "sanity.sh: cannot read the pip version ansible-test wants with $PYTHON;" \
        "set PYTHON to the interpreter ansible-core is installed for" >&2
    exit 2
}
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [[ ! -e "$get_pip" ]]; then
    mkdir -p "$(dirname "$get_pip")"
    printf '%s\n' '# Stand-in for get-pip.py (written by tests/sanity.sh): bootstrap the pip bundled with Python.' \
        'import ensurepip' 'ensurepip.bootstrap(upgrade=True)' >"$get_pip"
    echo "sanity.sh: wrote pip bootstrap stand-in $get_pip"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/swarmops-sanity.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/ansible_collections/$namespace/$name"
mkdir -p "$dest"

# Files deleted in the work tree but still tracked are listed too: skip them.
(
    cd "$repo"
    git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
        if [[ -e "$f" || -L "$f" ]]; then printf '%s\0' "$f"; fi
    done | tar -c --null -T - -f -
) | tar -x -C "$dest" -f -

cd "$dest"
ansible-test sanity --venv --python "$PYTHON_VERSION" "$@"
