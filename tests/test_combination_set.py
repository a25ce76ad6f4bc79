"""The guard: every question and every answer of copier.yml is covered by the combinations a run
renders, or by a named test; and the machinery reads `when:` and validators as Copier does."""

from collections.abc import Mapping
from pathlib import Path
from textwrap import dedent

import pytest
from copier import run_copy

from tests.support.combinations import (
    COMPUTED_PRESETS,
    CombinationError,
    accepted_combinations,
    all_units,
    build_combination_set,
    combination_set,
    extreme,
    extreme_value,
    possible_units,
    resolve,
)
from tests.support.options import TOGGLES
from tests.support.paths import COPIER_YML, TEMPLATE_ROOT
from tests.support.presets import FREE_TEXT_COVERAGE, PRESETS
from tests.support.questions import Answer, read_questions

QUESTIONS = read_questions(COPIER_YML)


def test_every_pair_of_option_values_is_rendered() -> None:
    full = combination_set()
    missing = possible_units(QUESTIONS) - all_units(full.all)
    assert sorted(missing) == []
    assert {c.name for c in full.all if not c.is_preset} == {
        f"pairs-{number}" for number in range(1, len(full.pairs) + 1)
    }


def test_every_free_text_question_says_what_covers_it() -> None:
    assert set(FREE_TEXT_COVERAGE) == set(QUESTIONS.free_text)
    uncovered = []
    for question, covers in FREE_TEXT_COVERAGE.items():
        for cover in covers:
            if cover in PRESETS:
                covered = question in PRESETS[cover]
            else:
                path = TEMPLATE_ROOT / cover
                covered = path.is_file() and question in path.read_text()
            if not covered:
                uncovered.append(f"{question}: {cover}")
    assert uncovered == []


def off_values() -> dict[str, tuple[Answer, Answer, Answer]]:
    """Each option that can be turned off: (its default, its off value, its on value)."""
    everything = extreme(QUESTIONS, on=True)
    found = {}
    for name, on in everything.items():
        option = QUESTIONS.option(name)
        default = QUESTIONS.default(option, everything)
        if (off := extreme_value(option, default, on=False)) != on:
            found[name] = (default, off, on)
    return found


def test_every_option_off_by_default_has_a_preset_of_its_own() -> None:
    turned_on = {
        option
        for answers in PRESETS.values()
        for option, value in answers.items()
        if option in off_values() and value != off_values()[option][1]
    }
    off_by_default = {name for name, (default, off, _) in off_values().items() if default == off}
    missing = sorted(off_by_default - turned_on)
    assert missing == [], "add a preset to tests/support/presets.py turning each of these on"


def test_every_option_that_can_be_turned_off_has_a_toggle() -> None:
    toggles = {toggle.option: (toggle.off, toggle.on) for toggle in TOGGLES}
    expected = {name: (off, on) for name, (_, off, on) in off_values().items()}
    assert toggles == expected, "see tests/support/options.py"


def test_presets_have_unique_names_and_computed_ones_are_not_typed() -> None:
    assert not set(COMPUTED_PRESETS) & set(PRESETS)
    names = [name for c in combination_set().all for name in (c.name, *c.also)]
    assert len(names) == len(set(names))


# A template of its own exercises what copier.yml will have as options land: an option asked
# only after another's answer, and one that requires another (refused by a validator).
SAMPLE = """\
    _subdirectory: template
    _envops:
      undefined: jinja2.StrictUndefined
    kind:
      type: str
      when: false
      default: service
    name:
      type: str
      default: sample
    auth:
      type: str
      choices: [none, jwt]
      default: none
    auth_registration:
      type: bool
      when: "{{ auth == 'jwt' }}"
      default: false
    use_docker:
      type: bool
      default: true
    kubernetes:
      type: bool
      default: false
      validator: "{% if kubernetes and not use_docker %}Kubernetes needs use_docker.{% endif %}"
    tracing:
      type: str
      multiselect: true
      choices: [otel, prometheus]
      default: []
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    (root / "copier.yml").write_text(dedent(SAMPLE))
    (root / "template").mkdir()
    (root / "template" / "answers.txt.jinja").write_text("{{ _copier_answers | to_json }}\n")
    return root


def copier_accepts(template: Path, destination: Path, answers: Mapping[str, object]) -> bool:
    try:
        run_copy(
            str(template), destination, data=dict(answers), defaults=True, quiet=True, pretend=True
        )
    except ValueError as error:
        if "Validation error" not in str(error):
            raise
        return False
    return True


def test_the_machinery_accepts_what_copier_accepts(sample: Path, tmp_path: Path) -> None:
    questions = read_questions(sample / "copier.yml")
    assert [option.name for option in questions.options] == [
        "auth",
        "auth_registration",
        "use_docker",
        "kubernetes",
        "tracing",
    ]
    accepted = {
        (c.get("auth"), c.get("auth_registration"), c.get("use_docker"), c.get("kubernetes"))
        for c in accepted_combinations(questions)
    }
    for auth in ("none", "jwt"):
        for registration in (True, False):
            for docker in (True, False):
                for kubernetes in (True, False):
                    answers = {
                        "auth": auth,
                        "auth_registration": registration,
                        "use_docker": docker,
                        "kubernetes": kubernetes,
                    }
                    ours = (
                        auth,
                        registration if auth == "jwt" else None,
                        docker,
                        kubernetes,
                    ) in accepted
                    assert ours == copier_accepts(sample, tmp_path / "x", answers), answers


def test_pairs_respect_when_and_validators(sample: Path) -> None:
    questions = read_questions(sample / "copier.yml")
    combinations = build_combination_set(questions, {})
    for combination in combinations.all:
        options = combination.options
        assert ("auth_registration" in options) == (options["auth"] == "jwt")
        assert not (options["kubernetes"] and not options["use_docker"])
    covered = all_units(combinations.all)
    assert (("auth", "jwt"), ("auth_registration", True)) in covered
    assert (("kubernetes", True), ("tracing", ("otel", "prometheus"))) in covered
    assert (("kubernetes", True), ("use_docker", False)) not in covered
    assert possible_units(questions) <= covered


def test_a_preset_copier_would_refuse_is_reported(sample: Path) -> None:
    questions = read_questions(sample / "copier.yml")
    with pytest.raises(CombinationError, match="Kubernetes needs use_docker"):
        resolve(questions, "broken", {"use_docker": False, "kubernetes": True})
    with pytest.raises(CombinationError, match="not asked"):
        resolve(questions, "broken", {"auth_registration": True})
