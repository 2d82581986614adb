"""The package build compiles the UI translations (.po → .mo, masspost/catalogues.py) so that `pip install .`, a
built wheel and `pip install -e .` serve Estonian and Russian without a .mo file in git. Everything else about the
package is in pyproject.toml; Babel is a build requirement there."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
LOCALE = HERE / "masspost" / "locale"


def _compile_catalogues(target: Path) -> list[Path]:
    # Loaded by its path: importing the masspost package would need its dependencies in the build environment.
    spec = importlib.util.spec_from_file_location("masspost_catalogues", HERE / "masspost" / "catalogues.py")
    assert spec is not None and spec.loader is not None
    catalogues = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(catalogues)
    written: list[Path] = catalogues.compile_catalogues(LOCALE, target)
    return written


class BuildWithCatalogues(build_py):
    """build_py, then the .mo files compiled from whatever .po files the tree holds, into the build (a wheel) or,
    for an editable install, beside the .po files (setuptools' rule for generated files in editable mode)."""

    def run(self) -> None:
        super().run()
        target = LOCALE if self.editable_mode else Path(self.build_lib) / "masspost" / "locale"
        self._catalogues = [str(path) for path in _compile_catalogues(target)]

    def get_outputs(self, include_bytecode: Any = 1) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            built = Path(self.build_lib) / "masspost" / "locale"
            outputs += [str(built / po.relative_to(LOCALE).with_suffix(".mo"))
                        for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))]
        return sorted(set(outputs))


setup(cmdclass={"build_py": BuildWithCatalogues})
