"""The layers: the Genesys client and the emulator know nothing of the runtime; flows know nothing of Genesys;
no module imports itself back through others."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import EXTENSION, import_cycles, import_graph, imports_of, shortest_circle

REPO = Path(__file__).resolve().parents[1]


def modules_under(package: str) -> list[str]:
    """Every module of a package, by file (`__main__` left out: importing it would run it)."""
    folder = REPO / package.replace(".", "/")
    names = []
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def imported_after(modules: list[str]) -> set[str]:
    """The `extension` modules loaded once `modules` are imported in a fresh interpreter."""
    probe = ("import importlib, json, sys\n"
             f"for name in {modules!r}:\n"
             "    importlib.import_module(name)\n"
             "print(json.dumps(sorted(m for m in sys.modules if m == 'extension' or m.startswith('extension.'))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True, text=True,
                         timeout=120)
    return set(json.loads(out.stdout))


def test_the_client_layer_and_the_emulator_import_nothing_of_the_runtime() -> None:
    wanted = modules_under("extension.genesys") + modules_under("extension.testing.emulator")
    assert "extension.genesys.client" in wanted and "extension.testing.emulator.app" in wanted
    loaded = imported_after(wanted)
    allowed = {"extension", "extension.testing"}
    runtime = sorted(m for m in loaded if m not in allowed
                     and not m.startswith(("extension.genesys.", "extension.testing.emulator."))
                     and m not in ("extension.genesys", "extension.testing.emulator"))
    assert runtime == [], f"the client layer or the emulator pulled in {runtime}"


VENDOR = ("extension.genesys", "extension.providers")


def test_the_flow_engine_imports_nothing_of_genesys_or_the_handover() -> None:
    loaded = imported_after(modules_under("extension.flows"))
    assert "extension.flows.engine" in loaded
    assert sorted(m for m in loaded if m.startswith((*VENDOR, "extension.handover"))) == []


def test_no_flow_module_names_genesys_or_the_handover_even_in_a_function() -> None:
    bad = {f"{path.relative_to(REPO)}: {name}"
           for path in (EXTENSION / "flows").rglob("*.py") for name in imports_of(path)
           if name.startswith((*VENDOR, "extension.handover"))}
    assert bad == set()


def test_the_import_check_sees_relative_imports() -> None:
    # Without this, a broken resolver would let the check above pass on anything.
    assert "extension.provider_settings.ProviderSettings" in imports_of(EXTENSION / "config.py")
    assert "extension.flows.engine.NodeApi" in imports_of(EXTENSION / "handover" / "nodes.py")
    assert "extension.flows.engine.NodeApi" in imports_of(EXTENSION / "flows" / "builtins.py")


def test_the_app_and_the_provider_seam_name_no_vendor_code() -> None:
    # Providers are found through the manifest (their `factory`), so neither the application nor
    # the seam (extension/handover/) imports a provider or the Genesys client, not even in a function.
    files = [EXTENSION / "app.py", *sorted((EXTENSION / "handover").rglob("*.py"))]
    bad = {f"{path.relative_to(REPO)}: {name}" for path in files for name in imports_of(path)
           if name.startswith(VENDOR)}
    assert bad == set()
    assert "extension.handover.install_providers" in imports_of(EXTENSION / "app.py")


# Allowed to know the vendor: the CLI and demo, the doctor, the test tools, the vendor code itself.
MAY_NAME_VENDORS = ("extension/cli.py", "extension/demo.py", "extension/doctor/", "extension/testing/",
                    "extension/genesys/", "extension/providers/")


def test_the_generic_runtime_imports_no_vendor_code() -> None:
    # The config, the flags, the Copilot page and the background tasks reach the vendor through
    # seams (provider settings, the provider's Copilot view, errors named at construction).
    generic = [p for p in sorted(EXTENSION.rglob("*.py"))
               if not str(p.relative_to(REPO)).startswith(MAY_NAME_VENDORS)]
    assert EXTENSION / "sessions.py" in generic and EXTENSION / "config.py" in generic
    aware = {f"{p.relative_to(REPO)}: {n}" for p in generic for n in imports_of(p) if n.startswith(VENDOR)}
    assert aware == set()



def test_no_module_imports_itself_back_through_others() -> None:
    # Lazy and TYPE_CHECKING imports count: a circle hidden in a function is still a circle.
    graph = import_graph()
    circles = import_cycles(graph)
    report = "\n".join(
        " -> ".join(shortest_circle(graph, c))
        + "\n  " + "\n  ".join(f"{m} imports {sorted(graph[m] & set(c))}" for m in c)
        for c in circles)
    assert circles == [], f"import circles:\n{report}"


def test_the_circle_finder_finds_circles() -> None:
    # Without this, a finder that never reports anything would let the check above pass.
    graph = {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": set(), "e": {"a", "f"}, "f": {"e"}, "g": {"g"}}
    assert import_cycles(graph) == [["a", "b", "c"], ["e", "f"]]
    assert shortest_circle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    real = import_graph()
    assert "extension.store.redis_coordination" in real["extension.store.redis"]
    assert "extension.testing.emulator.app" in real["extension.testing.emulator"]  # a package's relative import
    assert "extension.store" not in real["extension.store.redis"]  # no edge to the parent package


def test_every_app_key_of_the_generic_runtime_is_in_keys_py() -> None:
    # A provider keeps its own (the generic keys module may not name it), the emulator is another app.
    generic = [p for p in sorted(EXTENSION.rglob("*.py"))
               if not str(p.relative_to(REPO)).startswith(MAY_NAME_VENDORS)]
    elsewhere = sorted(str(p.relative_to(REPO)) for p in generic
                       if p != EXTENSION / "keys.py" and "web.AppKey(" in p.read_text(encoding="utf-8"))
    assert elsewhere == []
    assert "web.AppKey(" in (EXTENSION / "keys.py").read_text(encoding="utf-8")
