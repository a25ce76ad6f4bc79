"""The named presets every run renders, and what covers the questions that are not options.

A preset gives some answers; every other question takes its default. `minimal` (every option
off) and `everything` (every option on) are computed from copier.yml by
tests/support/combinations.py, which also adds the pairwise combinations.

Adding an option to copier.yml: add one line below, the option alone turned on (the guard in
tests/test_combination_set.py asks for it when the option is off by default). Adding a free-text
question: say in FREE_TEXT_COVERAGE what covers it.
"""

from typing import Any

ALL_FIELD_KINDS = (
    "handle:str(40)! bio:text? age:int>=0<=150 karma:bigint=0 score:float>=0? "
    "balance:decimal(12,2)>=0=0 active:bool=true birthday:date? last_seen:datetime? "
    "token:uuid=random settings:json? joined:datetime=now"
)

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # ---- One per option that is off by default: the option alone, turned on. ----
    "observability": {"observability": ["otel", "prometheus"]},
    "auth": {
        "auth": "jwt",
        "auth_registration": True,
        "auth_api_keys": True,
        "resource": "member",
    },
    "jobs": {"jobs": "procrastinate", "resource": "line_item"},
    "tenancy": {"auth": "jwt", "tenancy": "organizations", "resource": "work_item"},
    "kubernetes": {"kubernetes": True},  # needs use_docker, on by default
    # ---- Names and field kinds, on the other Python (one preset: each costs CI minutes). ----
    # Every field kind; SQL reserved words as names; the list endpoint's own parameters as fields
    # of kinds that do not filter by a parameter of their name; quotes and non-ASCII in the
    # project's texts. (Irregular plurals: tests/test_questions.py and the drawn names.)
    "order-py312": {
        "python_version": "3.12",
        "description": 'Tracks "orders": who, when & why <for now>.',
        "author_name": "Zoë O'Brien",
        "author_email": "zoe.obrien@example.co.uk",
        "resource": "order",
        "resource_fields": ALL_FIELD_KINDS
        + " user:str(100) group:int>=1 select:text? desc:bool=false"
        + " limit:int>=0 offset:decimal(6,2)=0 cursor:text? sort:date? q:float?",
    },
}

# Each asked question that is not an option (no finite set of answers), and what covers it: presets
# that answer it, or test modules that exercise it (they must name the question).
FREE_TEXT_COVERAGE: dict[str, tuple[str, ...]] = {
    "project_name": ("tests/test_questions.py",),  # and each combination has a name of its own
    "project_slug": ("tests/test_questions.py",),
    "description": ("order-py312",),
    "author_name": ("order-py312", "tests/test_questions.py"),
    "author_email": ("order-py312", "tests/test_questions.py"),
    "resource": ("order-py312", "tests/test_questions.py"),
    "resource_plural": ("tests/test_questions.py", "tests/test_add_resource.py"),
    "resource_fields": ("order-py312", "tests/test_questions.py"),
    "after_revision": ("tests/test_add_resource.py",),
    "auth_after_revision": ("tests/test_questions.py",),
    "auth_api_keys_after_revision": ("tests/support/options.py", "tests/test_questions.py"),
    "jobs_after_revision": ("tests/support/options.py", "tests/test_questions.py"),
    "tenancy_after_revision": ("tests/support/options.py",),
}
