"""Nothing reaches the service's pods, and they reach nothing, but what they need."""

from urllib.parse import urlsplit

from tests.deploy.manifests import ROOT, Manifest, Manifests

DNS = {("UDP", 53), ("TCP", 53)}
DATABASE = {("TCP", 5432), ("TCP", 6432)}  # PostgreSQL, PgBouncer
HAS_OTEL = (ROOT / "app" / "core" / "telemetry.py").exists()


def policy(manifests: Manifests, suffix: str) -> Manifest:
    (found,) = (
        manifest
        for manifest in manifests.of_kind("NetworkPolicy")
        if manifest["metadata"]["name"].endswith(suffix)
    )
    return found


def ports(rules: list[Manifest]) -> set[tuple[str, int]]:
    return {(port["protocol"], port["port"]) for rule in rules for port in rule["ports"]}


def test_every_pod_is_denied_by_default(manifests: Manifests) -> None:
    deny = policy(manifests, "-default-deny")
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]
    selector = deny["spec"]["podSelector"]["matchLabels"].items()
    templates = dict(manifests.pod_templates())
    assert templates
    for name, template in templates.items():
        assert selector <= template["metadata"]["labels"].items(), name


def test_only_the_api_port_is_reachable(manifests: Manifests) -> None:
    ingress = policy(manifests, "-api-ingress")
    api = manifests.one("Deployment", "api")
    assert ingress["spec"]["podSelector"] == api["spec"]["selector"]
    (container,) = api["spec"]["template"]["spec"]["containers"]
    container_ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    rules = ingress["spec"]["ingress"]
    assert ports(rules) == {("TCP", number) for number in container_ports.values()}
    open_to_all = [rule for rule in rules if "from" not in rule]
    assert ports(open_to_all) == {("TCP", container_ports["http"])}, "/metrics is not public"


def test_pods_reach_only_dns_the_database_and_the_collector(manifests: Manifests) -> None:
    egress = policy(manifests, "-egress")
    selector = egress["spec"]["podSelector"]["matchLabels"].items()
    for name, template in manifests.pod_templates():
        assert selector <= template["metadata"]["labels"].items(), name
    expected = DNS | DATABASE
    endpoint = manifests.config().get("OTEL_EXPORTER_OTLP_ENDPOINT")
    assert (endpoint is not None) == HAS_OTEL
    if endpoint:
        expected |= {("TCP", urlsplit(endpoint).port or 80)}
    rules = egress["spec"]["egress"]
    assert ports(rules) == expected
    (dns,) = (rule for rule in rules if ports([rule]) == DNS)
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
