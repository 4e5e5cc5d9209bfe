"""The three layers of curator/, read from the file tree so a new module is covered the day it
lands (DEVELOPERS.md, "The map"):

1. core: the pure stages (curator/*.py, formats/, validate/, dedup/, and any other package not
   named below). They never import the workspace or a front end.
2. curator/workspace/: the store and the workspace operations. It imports core, never a front end.
3. front ends: cli/, tui/, train/. cli is the entry point and may reach tui and train (lazily);
   tui and train never import each other or cli.

Core and workspace modules also import without textual, torch or transformers, checked in a fresh
interpreter so that modules other tests imported cannot hide a heavy import.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "curator"
FRONT_ENDS = ("cli", "tui", "train")
HEAVY = ("textual", "torch", "transformers", "peft", "bitsandbytes", "trl")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> tuple[int, str]:
    parts = module.split(".")
    second = parts[1] if len(parts) > 1 else ""
    if second in FRONT_ENDS:
        return 3, second
    if second == "workspace":
        return 2, second
    return 1, "core"


def _modules() -> list[str]:
    return sorted(_module(p) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(module: str) -> list[tuple[str, int]]:
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        # every import, including those inside functions (lazy imports still make a layer depend
        # on another)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
    return [(name, line) for name, line in found if name.split(".")[0] == "curator"]


def _check(module: str, imports: list[tuple[str, int]]) -> list[str]:
    rank, area = _layer(module)
    bad = []
    for target, line in imports:
        target_rank, target_area = _layer(target)
        upward = target_rank > rank
        sideways = rank == target_rank == 3 and area != target_area and area != "cli"
        if upward or sideways:
            bad.append(f"{module}:{line} imports {target}")
    return bad


def test_the_tree_has_the_three_layers() -> None:
    layers = {_layer(m)[0] for m in _modules()}
    assert layers == {1, 2, 3}
    assert "curator.workspace.engine" in _modules()


def test_no_module_imports_a_layer_above_it_or_a_sibling_front_end() -> None:
    # `python -m curator` is the CLI's entry point by definition
    bad = [b for m in _modules() if m != "curator.__main__" for b in _check(m, _imports(m))]
    assert bad == []


def test_the_layer_check_names_each_kind_of_violation() -> None:
    assert _check("curator.split", [("curator.workspace", 3)]) == [
        "curator.split:3 imports curator.workspace"]
    assert _check("curator.workspace.export", [("curator.tui.app", 9)]) == [
        "curator.workspace.export:9 imports curator.tui.app"]
    assert _check("curator.tui.app", [("curator.train.recipe", 1)]) == [
        "curator.tui.app:1 imports curator.train.recipe"]
    # allowed: downward, within a layer, and the CLI reaching the other front ends
    assert _check("curator.cli.train", [("curator.train.recipe", 1), ("curator.workspace", 2),
                                        ("curator.cli.output", 3), ("curator.split", 4)]) == []
    assert _check("curator.workspace.split", [("curator.split", 1)]) == []


_PROBE = """
import importlib, json, sys
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as exc:  # a module that cannot import is a finding too
        failed[name] = repr(exc)
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"failed": failed, "heavy": heavy}))
"""


def _probe(modules: list[str]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(modules), json.dumps(HEAVY)],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=300)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_every_core_and_workspace_module_imports_without_ui_or_trainer() -> None:
    lower = [m for m in _modules() if _layer(m)[0] < 3 and m != "curator.__main__"]
    assert "curator.workspace.split" in lower and "curator.dedup.near" in lower
    result = _probe(lower)
    assert result["failed"] == {}
    if result["heavy"]:
        # name the culprit: probe one module at a time (only on failure, so the suite stays quick)
        culprits = [m for m in lower if _probe([m])["heavy"]]
        raise AssertionError(f"{result['heavy']} imported by {culprits}")


def test_the_probe_sees_a_heavy_import() -> None:
    assert _probe(["curator.tui.app"])["heavy"] == ["textual"]
