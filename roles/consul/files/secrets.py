"""Create each missing role token secret file (mode 0600), never touching one that exists.

Arguments: the tokens directory, then the token names. Prints the names it created.
"""

import os
import sys
import uuid


def create(directory: str, name: str) -> bool:
    path = os.path.join(directory, name + ".token")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as stream:
        stream.write(str(uuid.uuid4()))
    return True


def main() -> None:
    directory, names = sys.argv[1], sys.argv[2:]
    print(" ".join(name for name in names if create(directory, name)))


main()
