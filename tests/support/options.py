"""What each option adds to a project: the files that exist only when it is on.

Adding an option to copier.yml: add one entry. The render tests check the files in every
combination, the update tests turn the option on and off in an existing project, and the guard
in tests/test_combination_set.py fails while an option that can be turned off has no entry.
"""

from dataclasses import dataclass

from tests.support.questions import Answer


@dataclass(frozen=True)
class Toggle:
    option: str
    on: Answer
    off: Answer
    files: tuple[str, ...]  # present when on, absent when off
    # Extra answers the option needs to be on (an option that requires another).
    requires: tuple[tuple[str, Answer], ...] = ()
    # The question that takes the project's current Alembic head when the option is turned on
    # (an option that adds a migration chains it after the project's own).
    head_question: str | None = None
    # What the database of a project with rows holds once the option is on: (query, its output).
    rows_after_on: tuple[tuple[str, str], ...] = ()
    # Whether its docs page tells users to update each added resource once it is on (the added
    # resources follow the service's answer).
    update_resources: bool = False
    # What its docs page tells users to run after turning it off, in the project.
    after_off: tuple[tuple[str, ...], ...] = ()
    # Options of one group are turned on and off together, in one project (each run costs CI
    # minutes): those whose files do not meet, or sub-options of one option.
    group: str | None = None
    # False: turning it off needs steps of the user's own that no test runs yet (its docs page
    # says which); the update tests then only turn it on.
    can_turn_off: bool = True


TOGGLES = (
    Toggle(
        "auth",
        "jwt",
        "none",
        (
            "app/api/auth.py",
            "app/core/scopes.py",
            "app/models/owned.py",
            "app/security/tokens.py",
            "app/services/auth.py",
            "tests/auth/users.py",
            "tests/api/contracts/auth.json",
            "tools/create_user.py",
        ),
        head_question="auth_after_revision",
        update_resources=True,  # docs/auth.md: then their routes need a signed-in caller
        # docs/auth.md, "Turning auth on": rows that exist belong to an inactive legacy owner.
        rows_after_on=(
            (
                "SELECT DISTINCT u.email || ' active=' || u.is_active "
                "FROM tasks t JOIN users u ON u.id = t.owner_id",
                "legacy-owner@example.invalid active=false",
            ),
        ),
        # docs/auth.md, "Turning auth off": a migration of the user's own (not automated yet).
        can_turn_off=False,
    ),
    # A route of app/api/v1/routes/auth.py, no file of its own.
    Toggle(
        "auth_registration", True, False, (), requires=(("auth", "jwt"),), group="auth features"
    ),
    Toggle(
        "auth_api_keys",
        True,
        False,
        ("app/services/api_key.py", "app/api/v1/routes/api_keys.py", "tests/auth/test_api_keys.py"),
        requires=(("auth", "jwt"),),
        head_question="auth_api_keys_after_revision",
        group="auth features",
        # docs/auth.md, "Turning API keys off": a migration of the user's own drops the table.
        can_turn_off=False,
    ),
    Toggle(
        "tenancy",
        "organizations",
        "none",
        (
            "app/core/permissions.py",
            "app/models/organization.py",
            "app/db/tenancy.py",
            "app/api/v1/routes/organizations.py",
            "tests/tenancy/test_isolation.py",
            "tools/permissions_table.py",
        ),
        requires=(("auth", "jwt"),),
        head_question="tenancy_after_revision",
        # docs/tenancy.md, "Turning tenancy on later": each owner's rows go to an organization
        # of their own, which they own.
        rows_after_on=(
            (
                "SELECT DISTINCT o.name || ' ' || m.role FROM tasks t"
                " JOIN organizations o ON o.id = t.organization_id"
                " JOIN memberships m ON m.organization_id = o.id",
                "Records of rows@example.com owner",
            ),
        ),
        # Turning it off is not automated (docs/tenancy.md). A run of its own: turned on with
        # API keys at once, both migrations would follow the one head.
        can_turn_off=False,
    ),
    Toggle(
        "jobs",
        "procrastinate",
        "none",
        # (not app/core/mail.py: auth brings it too)
        ("app/jobs/worker.py", "app/core/job_settings.py", "tests/jobs/test_scale.py"),
        head_question="jobs_after_revision",
        after_off=(  # docs/jobs.md, "Turning jobs off": the applied migration stays
            (
                "git",
                "checkout",
                "HEAD",
                "--",
                "alembic/versions/procrastinate_3_10_0.py",
                "alembic/versions/procrastinate_3_10_0.sql",
            ),
        ),
    ),
    Toggle(
        "use_docker",
        True,
        False,
        ("Dockerfile", "compose.yaml", ".dockerignore"),
        group="deployment files",
    ),
    Toggle(
        "github_actions",
        True,
        False,
        (".github/workflows/ci.yml", ".github/workflows/template-update.yml"),
        group="deployment files",
    ),
    Toggle(
        "observability",
        ("otel", "prometheus"),
        (),
        (
            "app/core/telemetry.py",
            "app/db/tracing.py",
            "app/api/metrics.py",
            "tests/observability/service.py",
            "tests/observability/test_tracing.py",
            "tests/observability/test_otlp_export.py",
            "tests/observability/otlp_receiver.py",
            "tests/observability/test_metrics.py",
        ),
    ),
    Toggle(
        "kubernetes",
        True,
        False,
        (
            "deploy/kubernetes/base/kustomization.yaml",
            "deploy/kubernetes/base/api.yaml",
            "deploy/kubernetes/base/migration-job.yaml",
            "deploy/kubernetes/base/network-policy.yaml",
            "deploy/kubernetes/overlays/production/kustomization.yaml",
            "deploy/kubernetes/secret.example.yaml",
            "tests/deploy/manifests.py",
            "tests/deploy/test_validation.py",
            "tests/deploy/test_workloads.py",
        ),
        requires=(("use_docker", True),),
        group="deployment files",
    ),
)


def toggle_runs() -> list[tuple[Toggle, ...]]:
    """What the update tests turn on and off together: each option alone, or its group at once
    (the deployment-file options: the service they deploy is the same with or without them;
    auth's sub-options: both extend the same auth)."""
    runs: dict[str, tuple[Toggle, ...]] = {}
    for toggle in TOGGLES:
        key = toggle.group or toggle.option
        runs[key] = (*runs.get(key, ()), toggle)
    return list(runs.values())
