"""What the API, the migration Job and the workers promise, checked on every variant."""

from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app
from tests.deploy.manifests import (
    KUBERNETES,
    OVERLAYS,
    ROOT,
    Manifest,
    Manifests,
    containers,
    dockerfile_command,
    dockerfile_user,
    kustomization,
    labels,
    secret_example,
)

SETTINGS = Settings.model_fields
HAS_JOBS = (ROOT / "app" / "jobs" / "worker.py").exists()
HAS_PROMETHEUS = "metrics_port" in SETTINGS


def api_container(manifests: Manifests) -> Manifest:
    pod = manifests.one("Deployment", "api")["spec"]["template"]["spec"]
    container: Manifest = pod["containers"][0]
    assert len(pod["containers"]) == 1
    return container


def seconds_after(flag: str, command: list[str]) -> float:
    return float(command[command.index(flag) + 1])


def test_the_api_runs_the_image_command_one_process_per_pod(manifests: Manifests) -> None:
    container = api_container(manifests)
    assert "command" not in container
    assert "args" not in container
    assert "--workers" not in dockerfile_command()
    assert manifests.config()["WEB_CONCURRENCY"] == "1"  # uvicorn's --workers default


def test_the_probes_ask_the_routes_meant_for_them(manifests: Manifests) -> None:
    container = api_container(manifests)
    paths = {container[probe]["httpGet"]["path"] for probe in ("startupProbe", "livenessProbe")}
    assert paths == {"/health/live"}, "liveness must not depend on the database"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    url = SecretStr("postgresql+asyncpg://app:x@db/app")  # never connected to: routes only
    app = create_app(Settings(_env_file=None, database_url=url))
    assert {"/health/live", "/health/ready"} <= set(app.openapi()["paths"])
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert dockerfile_command()[dockerfile_command().index("--port") + 1] == str(ports["http"])


def test_shutdown_lets_requests_in_flight_finish(manifests: Manifests) -> None:
    """The grace period covers the preStop sleep and then uvicorn's graceful shutdown."""
    pod = manifests.one("Deployment", "api")["spec"]["template"]["spec"]
    pre_stop = api_container(manifests)["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    graceful = seconds_after("--timeout-graceful-shutdown", dockerfile_command())
    assert pod["terminationGracePeriodSeconds"] > float(pre_stop[1]) + graceful


def test_every_pod_runs_unprivileged_with_bounded_resources(manifests: Manifests) -> None:
    templates = dict(manifests.pod_templates())
    assert templates, "no workload found"
    for name, template in templates.items():
        pod = template["spec"]
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert security["runAsUser"] == dockerfile_user(), name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
        for container in containers(template):
            hardened = container["securityContext"]
            assert hardened["allowPrivilegeEscalation"] is False, name
            assert hardened["readOnlyRootFilesystem"] is True, name
            assert hardened["capabilities"] == {"drop": ["ALL"]}, name
            assert not {"runAsUser", "runAsNonRoot", "privileged"} & set(hardened), name
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) == {"cpu", "memory"}, (name, kind)
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            scratch = mounts["/tmp"]  # noqa: S108  (the pod's own emptyDir)
            assert "emptyDir" in volumes[scratch], name


def test_the_deployments_never_migrate_the_job_does(manifests: Manifests) -> None:
    for deployment in manifests.of_kind("Deployment"):
        for container in containers(deployment["spec"]["template"]):
            command = [*container.get("command", []), *container.get("args", [])]
            assert "alembic" not in command, deployment["metadata"]["name"]
    job = manifests.one("Job", "migration")
    (container,) = containers(job["spec"]["template"])
    assert container["command"] == ["alembic", "upgrade", "head"]
    assert container["image"] == api_container(manifests)["image"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # It outlasts a wait for the migration lock plus alembic/env.py's statement_timeout (15 min).
    lock_wait = SETTINGS["migration_lock_timeout_seconds"].default
    assert job["spec"]["activeDeadlineSeconds"] > lock_wait + 15 * 60


def test_the_migration_step_applies_the_job_with_its_settings(manifests: Manifests) -> None:
    """The first step of a rollout (`kubectl apply -k OVERLAY -l rollout-step=migrate`, in
    base/kustomization.yaml) selects the new ConfigMap and the Job, which refers to it."""
    selected = [m for m in manifests.objects if labels(m).get("rollout-step") == "migrate"]
    assert sorted(manifest["kind"] for manifest in selected) == ["ConfigMap", "Job"]
    documented = (KUBERNETES / "base" / "kustomization.yaml").read_text()
    assert "kubectl apply -k overlays/production -l rollout-step=migrate" in documented
    job = manifests.one("Job", "migration")
    (container,) = containers(job["spec"]["template"])
    config_name = manifests.one("ConfigMap", "config")["metadata"]["name"]
    assert {"configMapRef": {"name": config_name}} in container["envFrom"]


def test_replicas_is_the_most_api_pods_that_can_run(manifests: Manifests) -> None:
    """REPLICAS (the pool-size check's count) = the autoscaler's maximum + the rollout's surge."""
    deployment = manifests.one("Deployment", "api")
    autoscaler = manifests.one("HorizontalPodAutoscaler", "api")
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    rolling = deployment["spec"]["strategy"]["rollingUpdate"]
    surge = rolling["maxSurge"]
    assert isinstance(surge, int), "maxSurge as a number of pods, so that REPLICAS can count it"
    assert rolling["maxUnavailable"] == 0
    config = manifests.config()
    assert int(config["REPLICAS"]) == autoscaler["spec"]["maxReplicas"] + surge
    budget = manifests.one("PodDisruptionBudget", "api")
    assert (
        budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    )
    assert budget["spec"]["maxUnavailable"] < autoscaler["spec"]["minReplicas"]


def test_the_service_sends_to_the_api_port(manifests: Manifests) -> None:
    service = manifests.one("Service", "api")
    deployment = manifests.one("Deployment", "api")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]


def test_prometheus_scrapes_the_metrics_port_when_there_is_one(manifests: Manifests) -> None:
    template = manifests.one("Deployment", "api")["spec"]["template"]
    annotations = template["metadata"].get("annotations", {})
    ports = {port["name"]: port["containerPort"] for port in api_container(manifests)["ports"]}
    if not HAS_PROMETHEUS:
        assert "metrics" not in ports
        assert not any(key.startswith("prometheus.io/") for key in annotations)
        return
    config = manifests.config()
    assert config["METRICS_HOST"] == "0.0.0.0"  # noqa: S104 (inside the pod's network only)
    assert ports["metrics"] == int(config["METRICS_PORT"])
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == config["METRICS_PORT"]
    env = {item["name"]: item["value"] for item in api_container(manifests).get("env", [])}
    mounts = {mount["mountPath"] for mount in api_container(manifests)["volumeMounts"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"] in mounts


def test_workers_run_when_the_service_has_jobs(manifests: Manifests) -> None:
    workers = [
        manifest
        for manifest in manifests.of_kind("Deployment")
        if manifest["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    ]
    assert bool(workers) == HAS_JOBS
    if not HAS_JOBS:
        return
    (worker,) = workers
    pod = worker["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "app.jobs.worker"]
    assert "livenessProbe" not in container, "a database outage must not restart workers"
    shutdown = SETTINGS["jobs_shutdown_timeout_seconds"].default
    assert pod["terminationGracePeriodSeconds"] > shutdown
    # The workers' LISTEN/NOTIFY needs PostgreSQL itself: DATABASE_DIRECT_URL, from the Secret.
    secret = secret_example()
    assert {"secretRef": {"name": secret["metadata"]["name"]}} in container["envFrom"]
    assert "DATABASE_DIRECT_URL" in secret["stringData"]


def test_every_overlay_pins_the_image(manifests: Manifests) -> None:
    """The base names the image; each overlay replaces it with a tag or a digest, never latest."""
    images = {
        container["image"]
        for _, template in manifests.pod_templates()
        for container in containers(template)
    }
    base_image = kustomization(KUBERNETES / OVERLAYS[0])["images"][0]["name"]
    if manifests.variant not in OVERLAYS:
        assert images == {base_image}
        return
    (image,) = images
    name, _, reference = image.partition("@") if "@" in image else image.rpartition(":")
    assert name, image
    assert reference, f"{image} has no tag or digest"
    assert "/" not in reference, f"{image} has no tag or digest"
    assert reference != "latest"
    (replacement,) = kustomization(KUBERNETES / manifests.variant)["images"]
    assert replacement["name"] == base_image
