"""Dependencies point one way (``../shared/ARCHITECTURE.md``, "How the pieces fit"): every product
module's imports are read (``ast``, nothing is imported) and a package that imports one it must not
fails the test. The allowed directions are written once, here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# small root modules every package may use: they import nothing of ours
UTILITIES = {"china_time", "logs", "yaml_files", "csv_export", "codes", "domain_errors"}
# the composition root and the command line: they build and wire everything, so they may import anything
COMPOSITION = {"server", "cli", "app_context"}
DOMAIN = {"store", "retrieval", "intents", "assistant", "policy_graph", "smartform"}

# package → the other first-party packages and root modules it may import (besides UTILITIES)
ALLOWED: dict[str, set[str]] = {
    # the bottom: the database, and no feature. settings: only its password-masking helper for URLs
    "store": {"settings"},
    # knows nothing of guides or policies
    "retrieval": set(),
    "intents": {"retrieval", "store"},
    # the policy graph reads and writes its own tables; enterprise credit codes are checked with `codes`
    "policy_graph": {"store"},
    "smartform": {"store"},
    # the catalog, search, answers and dialogue: it asks intents, retrieval and the policy graph
    "assistant": {"intents", "retrieval", "store", "policy_graph"},
    # shared by the HTTP layers; it knows no feature
    "web": set(),
    # HTTP layers: they translate requests into service calls, and never import one another, except
    # that the mini-program's sign-in uses WeChat's code2session (`wechat.api`)
    "wechat": {"web", "assistant", "store"},
    "miniapp_api": {"web", "wechat", *DOMAIN},
    "console": {"web", *DOMAIN},
    "settings": set(),
    **{name: set() for name in UTILITIES},
}

# imports that break the rules above, each with the reason it is still there; keep this list short
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {
    # whose answer a rating is for: the session-key format lives with the dialogue
    ("smartform/evaluations.py", "assistant"): "smartform.Evaluations reads assistant.dialogue.session_owner",
}


def _first_party() -> set[str]:
    # folders of Python modules at the root (some are namespace packages, without __init__.py)
    packages = {p.parent.name for p in ROOT.glob("*/*.py")} - {"tests", "benchmarks", "demo"}
    modules = {p.stem for p in ROOT.glob("*.py")}
    return packages | modules


def _files(name: str) -> list[Path]:
    folder = ROOT / name
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [ROOT / f"{name}.py"]


def _imported(path: Path, first_party: set[str]) -> set[str]:
    """The first-party top-level names a module imports, wherever in the module (functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue  # relative imports stay inside their package
        found.update(top for top in (n.split(".")[0] for n in names) if top in first_party)
    return found


def test_every_package_has_rules() -> None:
    unruled = _first_party() - set(ALLOWED) - COMPOSITION
    assert not unruled, f"add the allowed imports of {sorted(unruled)} to ALLOWED in this test"


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_imports_point_one_way(name: str) -> None:
    first_party = _first_party()
    if name not in first_party:
        pytest.skip(f"{name} is not in this tree")
    allowed = ALLOWED[name] | UTILITIES | {name}
    wrong = []
    for path in _files(name):
        relative = path.relative_to(ROOT).as_posix()
        for target in sorted(_imported(path, first_party) - allowed):
            if (relative, target) not in KNOWN_EXCEPTIONS:
                wrong.append(f"{relative} imports {target}")
    assert not wrong, f"{name} may import only {sorted(ALLOWED[name])} (and {sorted(UTILITIES)}):\n" + "\n".join(wrong)


def test_domain_packages_never_import_http_layers_or_the_composition_root() -> None:
    # the rule the table above already implies, said plainly: services know nothing of HTTP
    outward = {"web", "miniapp_api", "console", "wechat"} | COMPOSITION
    for name in DOMAIN:
        assert not ALLOWED[name] & outward, name


def test_known_exceptions_are_still_needed() -> None:
    first_party = _first_party()
    for (relative, target), reason in KNOWN_EXCEPTIONS.items():
        assert target in _imported(ROOT / relative, first_party), f"{relative} no longer imports {target} ({reason}): remove the exception"
