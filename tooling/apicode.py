"""The example API's generated server code, one file per router (`nox -s apicode`).

oapi-codegen generates api/openapi.gen.go from a rendered project's api/openapi.yaml, in the
router's idiom (api/oapi-codegen.yaml names it). The template keeps each router's output in the
router's folder, variants/router/<router>/openapi.gen.go, from which every project with that
router renders it. After a change to the description, this renders the template (its working
tree) once per router, runs the project's own `make generate`, and copies the result back.
tests/test_generate.py fails while any router's file is stale.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from tooling import variants

ROOT = Path(__file__).resolve().parent.parent
GENERATED = Path("api/openapi.gen.go")


def main() -> None:
    import copier  # the template's own dependency, imported only when rendering

    warnings.filterwarnings("ignore", category=copier.errors.DirtyLocalWarning)
    routers = [c.value for c in variants.choices("http_framework") if c.available]
    with tempfile.TemporaryDirectory(prefix="apicode-") as tmp:
        for router in routers:
            dst = Path(tmp) / router
            data = {**variants.defaults(), "http_framework": router, "example_api": True}
            copier.run_copy(str(ROOT), dst, data=data, defaults=True, quiet=True)
            proc = subprocess.run(["make", "generate"], cwd=dst, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.exit(f"{router}: make generate failed:\n{proc.stdout}\n{proc.stderr}")
            target = ROOT / "variants" / "router" / router / GENERATED.name
            changed = not target.exists() or target.read_bytes() != (dst / GENERATED).read_bytes()
            shutil.copy(dst / GENERATED, target)
            print(f"{target.relative_to(ROOT)}: {'rewritten' if changed else 'unchanged'}")


if __name__ == "__main__":
    main()
