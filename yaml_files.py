"""Reading our YAML files (demo content, forms, intents, the fact catalogue) with libyaml's safe C
loader when PyYAML has it: about ten times faster than the pure-Python one, which cost every
start of the service seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (a safe loader)
