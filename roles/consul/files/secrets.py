"""The cluster's secrets on the controller, made once and never regenerated: the secrets directory
and its tokens directory (0700), the gossip key (32 random bytes, base64) and one secret per role
token (a random UUID), each file 0600 and created only where it is missing.

Arguments: the secrets directory, the gossip key file, the tokens directory, then the token names.
Prints what it created or corrected, one item per line; nothing when everything was in place.
"""

import base64
import os
import sys
import uuid


def directory(path: str) -> list[str]:
    """The directory with mode 0700: what was done to it, if anything."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700)
        os.chmod(path, 0o700)
        return [f"created {path}"]
    if os.stat(path).st_mode & 0o777 != 0o700:
        os.chmod(path, 0o700)
        return [f"set mode 0700 on {path}"]
    return []


def secret_file(path: str, content: str) -> list[str]:
    """Write ``content`` to a new file of mode 0600; an existing file is left as it is."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return []
    with os.fdopen(descriptor, "w") as stream:
        stream.write(content)
    return [f"created {path}"]


def main() -> None:
    secrets, gossip, tokens, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    made = directory(secrets) + directory(tokens)
    made += secret_file(gossip, base64.b64encode(os.urandom(32)).decode())
    for name in names:
        made += secret_file(os.path.join(tokens, name + ".token"), str(uuid.uuid4()))
    print("\n".join(made))


main()
