"""Add a resource to this service, e.g.

    uv run python -m tools.add_resource invoice --fields "customer:ref(customer) total_cents:int>=0"

With --owned (a service with auth), each record belongs to the user who created it: other users
get 404, admins see all (docs/template/auth.md). With --scope org (a service with tenancy), each
record belongs to the organization it was created in, which row-level security enforces
(docs/template/tenancy.md).

It runs Copier with the template this project was made from, at the same version, in resource
mode: the model, schemas, repository, service, routes, migration (after the current Alembic
head) and tests of the new resource, recorded in .copier-answers.resource-<name>.yml so that
`uv run python -m tools.update_resources` updates them later. The field-spec grammar is in the
README.
"""

import argparse
import hashlib
import re
import shlex
import sys

from tools.copier_run import COPIER, CopierError, data_options, run_copier
from tools.resource_project import (
    PROJECT_DIR,
    SERVICE_ANSWERS,
    RefusedError,
    answers_file,
    migration_scripts,
    read_yaml,
    the_head,
)

# Copier reports the registry it rewrites (--overwrite) as a conflict first: not one.
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REGISTRY_CONFLICT = re.compile(r"^\s*conflict\s+\.copier-resources\.yml$")


def copier_arguments(args: argparse.Namespace, head: str) -> list[str]:
    answers = read_yaml(SERVICE_ANSWERS)
    data = {"resource": args.name, "resource_fields": args.fields, "after_revision": head}
    if args.plural:
        data["resource_plural"] = args.plural
    if args.owned:
        data["owned"] = "true"
    if args.scope == "org":
        data["scoped"] = "true"
    arguments = ["copy", "--defaults", "--overwrite", "--answers-file", answers_file(args.name)]
    arguments += ["--vcs-ref", args.vcs_ref or str(answers["_commit"]), *data_options(data)]
    return [*arguments, args.template or str(answers["_src_path"]), str(PROJECT_DIR)]


def option_refusal(args: argparse.Namespace, service: dict[str, object]) -> str | None:
    """Why --owned or --scope cannot be used in this service, if they cannot."""
    if args.owned and service.get("auth") != "jwt":
        return "--owned needs a service with auth (copier update --data auth=jwt)."
    if args.scope and (service.get("auth") != "jwt" or service.get("tenancy") != "organizations"):
        return "--scope org needs a service with tenancy (docs/template/tenancy.md)."
    if args.owned and args.scope:
        return "--owned or --scope org: a record belongs to a user or to an organization."
    return None


def add(arguments: list[str]) -> int:
    """Run Copier, showing its report but for the registry's false conflict; a refused answer
    is one line and exit status 2 instead of Copier's traceback."""
    try:
        report = run_copier(arguments)
    except CopierError as error:
        if error.refused:
            print(f"Nothing was added: {error}", file=sys.stderr)
            return 2
        print(f"Copier failed: {error}", file=sys.stderr)
        return 1
    for line in report.splitlines():
        if not REGISTRY_CONFLICT.match(ANSI.sub("", line)):
            print(line, file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.add_resource",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="singular snake_case name, e.g. invoice or line_item")
    parser.add_argument("--fields", required=True, help='e.g. "title:str(200) due:date?"')
    parser.add_argument("--plural", help="the plural, when the English rules get it wrong")
    parser.add_argument(
        "--owned", action="store_true", help="records belong to their creator (needs auth)"
    )
    parser.add_argument(
        "--scope",
        choices=["org"],
        help="org: records belong to the organization they were created in (needs tenancy)",
    )
    parser.add_argument("--template", help="template location (default: where this came from)")
    parser.add_argument("--vcs-ref", help="template version (default: this project's)")
    args = parser.parse_args()

    if (PROJECT_DIR / "app" / "models" / f"{args.name}.py").exists():
        print(f"app/models/{args.name}.py exists already; pick another name.", file=sys.stderr)
        return 2
    if refusal := option_refusal(args, read_yaml(SERVICE_ANSWERS)):
        print(refusal, file=sys.stderr)
        return 2
    scripts = migration_scripts()
    # The resource's migration id comes from its name (copier.yml, `migration_revision`): a
    # resource removed with tools.remove_resource left its create migration, under that id.
    revision = hashlib.sha1(args.name.encode(), usedforsecurity=False).hexdigest()[:12]
    if any(script.revision == revision for script in scripts.walk_revisions()):
        print(
            f"A resource {args.name!r} existed before (its migration {revision} remains); "
            "pick another name.",
            file=sys.stderr,
        )
        return 2
    try:
        head = the_head(scripts)
    except RefusedError as refused:  # refused like tools.remove_resource refuses it: exit 2
        print(refused, file=sys.stderr)
        return 2
    arguments = copier_arguments(args, head)
    print("$", shlex.join([*COPIER, *arguments]), flush=True)
    return add(arguments)


if __name__ == "__main__":
    sys.exit(main())
