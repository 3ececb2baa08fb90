"""Report what the python_env role needs to know about a host, as one JSON line.

Run by the host's own python3 with the environment's path as the only argument.
"""

import importlib.util
import json
import sys
from pathlib import Path


def main() -> None:
    env = Path(sys.argv[1])
    marker = env / ".swarmops-env"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    print(
        json.dumps(
            {
                "python": version,
                "venv": importlib.util.find_spec("venv") is not None,
                "ensurepip": importlib.util.find_spec("ensurepip") is not None,
                "marker": marker.read_text().strip() if marker.is_file() else "",
                "site_packages": f"lib/python{version}/site-packages",
            }
        )
    )


main()
