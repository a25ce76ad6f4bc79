"""The combinations of answers a test run renders: the presets, then a pairwise covering set.

Every pair of option values that some accepted combination can hold (respecting `when:` and
validators) is rendered at least once. The covering set is computed here, not typed by hand:

1. Every combination Copier accepts is enumerated, option by option in copier.yml's order (an
   option whose `when:` is false is not asked; a value its validator refuses is dropped).
2. The presets come first; the pairs (and single values) they hold count as covered.
3. Greedily, the accepted combination covering the most uncovered pairs is added (the first in
   enumeration order on a tie, so the set is the same on every run) until none is left.

This is the classic greedy pairwise algorithm; it is hand-written (about twenty lines) because
the libraries (allpairspy) generate rows first and filter them, which cannot express a
question that is asked only after some answers. Enumeration stays cheap while options are
few (a few thousand combinations for a dozen options): ENUMERATION_LIMIT says when it is not.
"""

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from itertools import combinations as subsets
from typing import Any

import pytest

from tests.support.paths import COPIER_YML
from tests.support.presets import PRESETS
from tests.support.project import Project
from tests.support.questions import Answer, Option, Questions, read_questions

ENUMERATION_LIMIT = 200_000
COMPUTED_PRESETS = ("minimal", "everything")
# An option value or a pair of them; a combination covers the units it holds.
Unit = tuple[tuple[str, Answer], ...]
Presets = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Combination:
    """Answers to render with: `answers` go to Copier; `options` are every option's value in it."""

    name: str
    answers: Mapping[str, Any]
    options: Mapping[str, Answer]
    free_text: Mapping[str, Any]  # the answers to free-text questions
    also: tuple[str, ...] = ()  # other presets that are this same combination

    @property
    def is_preset(self) -> bool:
        return not self.name.startswith("pairs-")

    def copier_data(self) -> dict[str, Any]:
        data = {"project_name": f"Combination {self.name}"} | dict(self.answers)
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in data.items()
        }


@dataclass(frozen=True)
class Rendered:
    """A combination rendered on disk, with the answers Copier recorded."""

    combination: Combination
    project: Project
    answers: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.combination.name


class CombinationError(ValueError):
    """A preset Copier would refuse, or one that answers a question it is not asked."""


def accepted_combinations(questions: Questions) -> list[dict[str, Answer]]:
    """Every combination of option values Copier accepts, in enumeration order."""
    partial: list[tuple[dict[str, Answer], dict[str, Answer]]] = [({}, {})]  # (chosen, context)
    for option in questions.options:
        extended = []
        for chosen, context in partial:
            if not questions.asked(option, context):
                # Copier still renders with the default of a question it does not ask.
                default = questions.default(option, context)
                extended.append((chosen, context | {option.name: default}))
                continue
            for value in option.values:
                if not questions.refusal(option, value, context):
                    answer = {option.name: value}
                    extended.append((chosen | answer, context | answer))
        partial = extended
        if len(partial) > ENUMERATION_LIMIT:
            raise CombinationError(
                f"more than {ENUMERATION_LIMIT} combinations: generate pairs without enumerating"
            )
    return [chosen for chosen, _ in partial]


def units(options: Mapping[str, Answer]) -> frozenset[Unit]:
    """The single values and pairs of values a combination holds."""
    items = sorted(options.items(), key=lambda item: item[0])
    return frozenset([((name, value),) for name, value in items] + list(subsets(items, 2)))


def resolve(questions: Questions, name: str, answers: Mapping[str, Any]) -> dict[str, Answer]:
    """Every option's value in the preset `name`: its answer, or the default when it is asked."""
    options: dict[str, Answer] = {}
    context: dict[str, Answer] = {}
    for option in questions.options:
        asked = questions.asked(option, context)
        if not asked and option.name in answers:
            raise CombinationError(f"preset {name!r} answers {option.name!r}, which is not asked")
        value = answers.get(option.name, questions.default(option, context))
        if isinstance(value, list):
            value = tuple(value)
        if asked:
            if refusal := questions.refusal(option, value, context):
                raise CombinationError(f"Copier refuses preset {name!r}: {refusal}")
            options[option.name] = value
        context[option.name] = value
    known = {option.name for option in questions.options} | set(questions.free_text)
    if unknown := set(answers) - known:
        raise CombinationError(f"preset {name!r} answers questions copier.yml lacks: {unknown}")
    return options


def extreme(questions: Questions, on: bool) -> dict[str, Answer]:
    """Every option off (`on` false) or on, as far as `when:` lets each be asked."""
    answers: dict[str, Answer] = {}
    for option in questions.options:
        if questions.asked(option, answers):
            default = questions.default(option, answers)
            answers[option.name] = extreme_value(option, default, on)
    return answers


def extreme_value(option: Option, default: Answer, on: bool) -> Answer:
    """On: True, every choice, or the default unless it is 'none' (then the first other choice).
    Off: False, no choice, or 'none'. Options without an off value (python_version) keep their
    default."""
    if option.type == "bool":
        return on
    if option.multiselect:
        return option.values[-1] if on else ()
    if "none" not in option.values:
        return default
    if not on:
        return "none"
    return default if default != "none" else next(v for v in option.values if v != "none")


def preset_combinations(questions: Questions, presets: Presets) -> list[Combination]:
    """The named presets, the computed ones included; a preset equal to an earlier one is
    rendered once, under the earlier name."""
    named: dict[str, Mapping[str, Any]] = {"default": {}}
    named |= {"minimal": extreme(questions, on=False), "everything": extreme(questions, on=True)}
    named |= presets
    found: list[Combination] = []
    for name, answers in named.items():
        options = resolve(questions, name, answers)
        free = {key: value for key, value in answers.items() if key in questions.free_text}
        twin = next((c for c in found if (c.options, c.free_text) == (options, free)), None)
        if twin is None:
            found.append(Combination(name, answers, options, free))
        else:
            found[found.index(twin)] = replace(twin, also=(*twin.also, name))
    return found


def pairwise(questions: Questions, presets: Iterable[Combination]) -> list[Combination]:
    """The fewest combinations (greedily) that, with `presets`, hold every possible pair."""
    candidates = accepted_combinations(questions)
    candidate_units = [units(candidate) for candidate in candidates]
    covered = frozenset().union(*(units(preset.options) for preset in presets))
    needed = frozenset().union(*candidate_units) - covered
    chosen: list[Combination] = []
    while needed:
        best = max(range(len(candidates)), key=lambda i: len(candidate_units[i] & needed))
        name = f"pairs-{len(chosen) + 1}"
        chosen.append(Combination(name, candidates[best], candidates[best], {}))
        needed -= candidate_units[best]
    return chosen


@dataclass(frozen=True)
class Selection:
    """The combinations a run renders."""

    combinations: tuple[Combination, ...]
    pairs_available: int
    seed: int | None  # None: every pairwise combination is in

    def describe(self) -> str:
        presets = sum(c.is_preset for c in self.combinations)
        pairs = len(self.combinations) - presets
        drawn = "" if self.seed is None else f" (drawn with --pairs-seed={self.seed})"
        return (
            f"{len(self.combinations)} combinations: {presets} presets and "
            f"{pairs} of {self.pairs_available} pairwise combinations{drawn}"
        )


@dataclass(frozen=True)
class CombinationSet:
    presets: tuple[Combination, ...]
    pairs: tuple[Combination, ...]

    @property
    def all(self) -> tuple[Combination, ...]:
        return self.presets + self.pairs

    def named(self, name: str) -> Combination:
        return next(c for c in self.all if name == c.name or name in c.also)

    def selection(self, pairs: int | None, seed: int) -> Selection:
        """Every preset, and `pairs` of the pairwise combinations (all when None) drawn with
        `seed`."""
        if pairs is None or pairs >= len(self.pairs):
            return Selection(self.all, len(self.pairs), seed=None)
        # A reproducible draw, not a secret.
        drawn = random.Random(seed).sample(range(len(self.pairs)), pairs)  # noqa: S311
        picked = tuple(self.pairs[i] for i in sorted(drawn))
        return Selection(self.presets + picked, len(self.pairs), seed)


@cache
def combination_set() -> CombinationSet:
    """The combinations of this repository's copier.yml."""
    return build_combination_set(read_questions(COPIER_YML), PRESETS)


def build_combination_set(questions: Questions, presets: Presets) -> CombinationSet:
    """The presets (with `minimal` and `everything`) and the pairwise set that completes them."""
    named = preset_combinations(questions, presets)
    return CombinationSet(tuple(named), tuple(pairwise(questions, named)))


def all_units(combinations: Iterable[Combination]) -> frozenset[Unit]:
    return frozenset().union(*(units(c.options) for c in combinations))


def possible_units(questions: Questions) -> frozenset[Unit]:
    return frozenset().union(*(units(c) for c in accepted_combinations(questions)))


def only(*names: str) -> pytest.MarkDecorator:
    """Run a test on the named presets only, rendered once per session like every combination."""
    chosen = [combination_set().named(name) for name in names]
    return pytest.mark.parametrize("combination", chosen, ids=list(names), scope="session")
