"""The QA guides do not lie: every example scenario in them loads into its simulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from simulators.runner import SIMULATORS

ROOT = Path(__file__).parents[2]
_BLOCK = re.compile(r"```ya?ml\n(.*?)```", re.DOTALL)


def _examples() -> list[tuple[str, str, dict[str, object]]]:
    found = []
    for guide in [ROOT / "SIMULATORS.md", *sorted((ROOT / "simulators").glob("*/QA.md"))]:
        for block in _BLOCK.findall(guide.read_text(encoding="utf-8")):
            for name, section in (yaml.safe_load(block) or {}).items():
                found.append((guide.relative_to(ROOT).as_posix(), name, section))
    return found


EXAMPLES = _examples()


def test_every_simulator_has_a_guide_with_an_example_scenario():
    assert {name for _, name, _ in EXAMPLES} >= set(SIMULATORS) - {"registry"}
    for name in SIMULATORS:
        assert (ROOT / "simulators" / name / "QA.md").exists(), name


@pytest.mark.parametrize(("guide", "name", "section"), EXAMPLES, ids=lambda v: str(v)[:40])
def test_each_example_scenario_section_loads(guide: str, name: str, section: dict[str, object]):
    assert name in SIMULATORS, f"{guide}: unknown simulator {name}"
    app = SIMULATORS[name](0)
    app.state.apply_scenario(section)  # type: ignore[attr-defined]
