"""The questions of copier.yml, read from the file itself, and which answers Copier accepts.

An *option* is a question with a finite set of answers (a bool, or its choices); combinations
choose between options. Every other question that is asked is *free text* (names, field specs),
covered by the tests listed in tests/support/presets.py. Computed values (`when: false`) and
hidden ones (`ask: false`) are neither.

`when:` conditions, validators and templated defaults are rendered the way Copier renders them:
a sandboxed Jinja environment rooted at the template, with Copier's default extension and the
template's `_envops`. They see the answers given so far, plus `kind` (a service is being made).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from pathlib import Path
from typing import Any, TypeAlias

import yaml
from copier._tools import cast_to_bool  # Copier's own reading of a rendered `when:`
from jinja2 import FileSystemLoader, StrictUndefined, Undefined
from jinja2.sandbox import SandboxedEnvironment

# A single answer: a bool, a choice, or a tuple of choices (multiselect; a tuple to be hashable).
Answer: TypeAlias = bool | str | int | float | tuple[Any, ...]
Answers: TypeAlias = Mapping[str, Answer]
# What a rendered service is, as far as when/validators of options can tell.
SERVICE_CONTEXT: dict[str, Any] = {"kind": "service", "_copier_operation": "copy"}


class QuestionError(ValueError):
    """copier.yml says something the combination machinery cannot evaluate."""


@dataclass(frozen=True)
class Option:
    name: str
    type: str
    values: tuple[Answer, ...]
    default: Any
    when: Any = True
    validator: str = ""
    # Copier's per-choice validators: a choice greyed out, with a message, in some contexts.
    choice_validators: Mapping[Answer, str] = field(default_factory=dict)

    @property
    def multiselect(self) -> bool:
        return self.type == "multiselect"


@dataclass(frozen=True)
class Questions:
    """copier.yml's questions and the Jinja environment to evaluate their conditions in."""

    path: Path
    options: tuple[Option, ...]
    free_text: tuple[str, ...]
    computed: tuple[str, ...]
    envops: Mapping[str, Any]

    @cached_property
    def jinja(self) -> SandboxedEnvironment:
        undefined = {"jinja2.StrictUndefined": StrictUndefined}.get(
            str(self.envops.get("undefined")), Undefined
        )
        envops = {key: value for key, value in self.envops.items() if key != "undefined"}
        return SandboxedEnvironment(
            loader=FileSystemLoader(self.path.parent),
            extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
            undefined=undefined,
            **envops,
        )

    def option(self, name: str) -> Option:
        return next(option for option in self.options if option.name == name)

    def render(self, value: Any, context: Mapping[str, Any], question: str) -> Any:
        """`value` rendered like Copier renders a question's setting; non-strings as they are."""
        if not isinstance(value, str):
            return value
        try:
            return self.jinja.from_string(value).render(**SERVICE_CONTEXT, **context)
        except Exception as error:
            raise QuestionError(
                f"{question!r}: cannot evaluate {value!r} with the answers {dict(context)}: "
                f"{error}. Options' conditions may use `kind` and other options only."
            ) from error

    def asked(self, option: Option, context: Mapping[str, Any]) -> bool:
        return cast_to_bool(self.render(option.when, context, option.name))

    def default(self, option: Option, context: Mapping[str, Any]) -> Answer:
        rendered = self.render(option.default, context, option.name)
        if option.type == "bool":
            return cast_to_bool(rendered)
        if option.multiselect:
            return tuple(rendered or ())
        return str(rendered)

    def refusal(self, option: Option, value: Answer, context: Mapping[str, Any]) -> str:
        """Why Copier refuses `value` for `option` after `context`; empty when it accepts it."""
        answer = list(value) if isinstance(value, tuple) else value
        scope = {**context, option.name: answer}
        chosen = value if isinstance(value, tuple) else (value,)
        messages = [
            self.render(option.validator, scope, option.name),
            *(
                self.render(option.choice_validators.get(choice, ""), context, option.name)
                for choice in chosen
            ),
        ]
        return " ".join(str(message).strip() for message in messages if str(message).strip())


def read_questions(path: Path) -> Questions:
    spec = yaml.safe_load(path.read_text())
    options, free_text, computed = [], [], []
    for name, question in spec.items():
        if name.startswith("_"):
            continue
        if not isinstance(question, dict):
            question = {"default": question}
        if question.get("when") is False or question.get("ask") is False:
            computed.append(name)
        elif option := as_option(name, question):
            options.append(option)
        else:
            free_text.append(name)
    return Questions(
        path, tuple(options), tuple(free_text), tuple(computed), spec.get("_envops", {})
    )


def as_option(name: str, question: Mapping[str, Any]) -> Option | None:
    """The question as an option when its answers are a finite set, else None."""
    kind = question.get("type", "str")
    settings = {
        "when": question.get("when", True),
        "validator": question.get("validator", ""),
        "default": question.get("default"),
    }
    if kind == "bool" and "choices" not in question:
        return Option(name, "bool", (True, False), **settings)
    if "choices" not in question:
        return None
    choices = question["choices"]
    if isinstance(choices, str):
        raise QuestionError(f"{name!r}: templated choices are not supported by the combinations")
    pairs = (
        choices.items() if isinstance(choices, dict) else ((choice, choice) for choice in choices)
    )
    values, validators = [], {}
    for _label, choice in pairs:
        value = choice["value"] if isinstance(choice, dict) else choice
        values.append(value)
        if isinstance(choice, dict) and choice.get("validator"):
            validators[value] = choice["validator"]
    if question.get("multiselect"):
        subsets = [
            subset for size in range(len(values) + 1) for subset in combinations(values, size)
        ]
        return Option(name, "multiselect", tuple(subsets), choice_validators=validators, **settings)
    return Option(name, kind, tuple(values), choice_validators=validators, **settings)
