"""docker-compose.yml is valid for a compose tool and agrees with the code: the environment
is Settings fields, the commands are gridflow subcommands, the ports are the Settings
defaults and Prometheus' targets, the images are pinned, and the mounted files exist."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from gridflow.cli import COMMANDS
from gridflow.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
IMAGE_SOURCE = "/opt/gridflow"  # WORKDIR of the Dockerfile's COPY steps
GRIDFLOW_SERVICES = ("init", "worker", "projector", "api")
DEFAULTS = Settings()


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict:
    return compose()["services"]


SECRETS = ("GRIDFLOW_CLICKHOUSE_PASSWORD", "ANALYST_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "GRIDFLOW_API_KEYS",
           "GRIDFLOW_API_SECRET", "GRAFANA_CLICKHOUSE_PASSWORD")
SECRET_VALUES = {"GRIDFLOW_CLICKHOUSE_PASSWORD": "pipeline-pw", "ANALYST_PASSWORD": "analyst-pw",
                 "GRAFANA_ADMIN_PASSWORD": "grafana-pw", "GRIDFLOW_API_SECRET": "pseudonym-secret",
                 "GRAFANA_CLICKHOUSE_PASSWORD": "grafana-ch-pw",
                 "GRIDFLOW_API_KEYS": "demo-app write,read sha256:" + "0" * 64}


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with nothing set: the default; ${VAR:?message}: the test's value."""
    value = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{([A-Z0-9_]+):\?[^}]*\}", lambda m: SECRET_VALUES[m.group(1)], value)


def compose_tool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose not found: install Debian's docker-compose package (.ci/run does)"
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run([exe, "-f", str(COMPOSE_FILE), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**clean, **(SECRET_VALUES if env is None else env)})


def env(service: str) -> dict[str, str]:
    return {k: interpolate(v) for k, v in (services()[service].get("environment") or {}).items()}


def published(service: str) -> dict[int, str]:
    """container port -> 'host_ip:host_port' for the service's published ports."""
    out = {}
    for spec in services()[service].get("ports", []):
        host_ip, host_port, container = str(spec).split(":")
        out[int(container.split("/")[0])] = f"{host_ip}:{host_port}"
    return out


def prometheus_ports(config: str) -> dict[str, set[int]]:
    """Ports of each job of a config in deploy/prometheus/, or (``local``) of the one `gridflow
    stack up` makes from the default settings."""
    if config == "local":
        from deploy.prometheus_config import local_config

        doc = local_config(DEFAULTS)
    else:
        doc = yaml.safe_load((ROOT / "deploy" / "prometheus" / config).read_text())
    ports: dict[str, set[int]] = {}
    for job in doc["scrape_configs"]:
        found = ports.setdefault(job["job_name"], set())
        for sd in job.get("dns_sd_configs", []):
            found.add(int(sd["port"]))
        for sc in job.get("static_configs", []):
            found.update(int(t.rsplit(":", 1)[1]) for t in sc["targets"])
    return ports


def repo_path(source: str) -> Path:
    assert source.startswith("./"), f"bind mount {source} should be relative to the repository"
    return ROOT / source[2:]


# --- the compose tool --------------------------------------------------------------------

def test_the_compose_tool_accepts_the_file():
    result = compose_tool("config", "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", SECRETS)
def test_the_compose_tool_refuses_to_start_without_each_secret(missing):
    result = compose_tool("config", "--quiet", env={k: v for k, v in SECRET_VALUES.items() if k != missing})
    assert result.returncode != 0
    assert f"set {missing}," in result.stderr, result.stderr


def test_no_secret_has_a_default_in_the_file():
    text = COMPOSE_FILE.read_text()
    for name in SECRETS:
        uses = re.findall(rf"\$\{{{name}(\W\W?)", text)
        assert uses and all(u == ":?" for u in uses), f"{name}: every use must be ${{{name}:?message}}, got {uses}"


def test_the_compose_tool_sees_every_service():
    result = compose_tool("config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"kafka", "clickhouse", "init", "worker", "projector", "api",
                                          "prometheus", "grafana"}


# --- agreement with the code ---------------------------------------------------------------

def test_every_gridflow_variable_is_a_settings_field_and_parses():
    names = {ENV_PREFIX + f.name.upper() for f in fields(Settings)}
    for name, service in services().items():
        gridflow_env = {k: v for k, v in env(name).items() if k.startswith(ENV_PREFIX)}
        unknown = sorted(set(gridflow_env) - names)
        assert not unknown, f"{name}: {unknown} are not gridflow.settings.Settings fields"
        if gridflow_env:
            Settings.from_env(gridflow_env)  # raises on a value of the wrong type or out of range


def test_gridflow_services_run_real_gridflow_subcommands():
    for name in ("worker", "projector"):
        command = services()[name]["command"]
        assert command[0] == "gridflow" and command[1] in COMMANDS, f"{name}: {command}"
    assert services()["worker"]["command"][1] == "worker"
    assert services()["projector"]["command"][1] == "project"
    assert services()["api"]["command"] == ["gridflow", "api"]


def test_the_init_script_exists_and_runs_topics_then_migrate():
    command = services()["init"]["command"]
    assert command[0].startswith(IMAGE_SOURCE + "/")
    script = ROOT / command[0][len(IMAGE_SOURCE) + 1:]
    assert script.is_file(), f"{script} missing"
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    subcommands = re.findall(r"^\s*gridflow\s+(\w+)", script.read_text(), re.M)
    assert subcommands == ["topics", "migrate"]
    assert set(subcommands) <= set(COMMANDS)


def test_the_dockerfile_installs_every_package_and_copies_to_the_image_source():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\S*$", text, re.M)
    assert re.search(rf"^WORKDIR {IMAGE_SOURCE}$", text, re.M)
    install = re.search(r'^RUN pip install "?\.(?:\[([\w,]+)\])?"?', text, re.M)
    assert install, "the Dockerfile does not pip install the repository"
    extras = set((install.group(1) or "").split(",")) - {""}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        assert re.search(rf"^COPY {package} {package}$", text, re.M), f"Dockerfile does not copy {package}/"
    assert extras <= set(pyproject["project"]["optional-dependencies"]), extras


def test_the_gridflow_image_is_built_here_and_tagged_with_the_package_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name in GRIDFLOW_SERVICES:
        service = services()[name]
        assert service["image"] == f"gridflow:{version}", name
        assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == DOCKERFILE


def test_images_are_pinned():
    for name, service in services().items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and "/" not in tag, f"{name}: {image} is not pinned"
        assert re.match(r"v?\d+\.\d+", tag), f"{name}: {image} should name a release"


def test_kafka_image_matches_the_local_stack_version():
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom).group(1)
    assert services()["kafka"]["image"] == f"apache/kafka:{version}"


def test_kafka_runs_kraft_without_auto_created_topics_and_advertises_the_bootstrap():
    kafka = env("kafka")
    assert "ZOOKEEPER" not in " ".join(kafka)
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    advertised = {l.split("://")[1] for l in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    for name in GRIDFLOW_SERVICES:
        assert env(name)["GRIDFLOW_KAFKA_BOOTSTRAP"] in advertised, name
    # Host tools with the default Settings reach the published listener.
    assert f"127.0.0.1:{DEFAULTS.kafka_port}" in advertised
    assert published("kafka")[DEFAULTS.kafka_port] == f"127.0.0.1:{DEFAULTS.kafka_port}"


def test_clickhouse_credentials_agree_between_server_and_pipeline():
    server = env("clickhouse")
    for name in GRIDFLOW_SERVICES:
        pipeline = Settings.from_env({k: v for k, v in env(name).items() if k.startswith(ENV_PREFIX)})
        assert pipeline.store == "server"
        assert pipeline.clickhouse_host == "clickhouse"
        assert pipeline.clickhouse_user == server["CLICKHOUSE_USER"]
        assert pipeline.clickhouse_password == server["CLICKHOUSE_PASSWORD"]
        assert pipeline.clickhouse_database == server["CLICKHOUSE_DB"]
        assert (pipeline.clickhouse_port, pipeline.clickhouse_http_port) == (DEFAULTS.clickhouse_port,
                                                                            DEFAULTS.clickhouse_http_port)
    ports = published("clickhouse")
    assert ports[DEFAULTS.clickhouse_port] == f"127.0.0.1:{DEFAULTS.clickhouse_port}"
    assert ports[DEFAULTS.clickhouse_http_port] == f"127.0.0.1:{DEFAULTS.clickhouse_http_port}"


def test_clickhouse_mounts_a_read_only_analyst_user():
    mounts = [v for v in services()["clickhouse"]["volumes"] if "/etc/clickhouse-server/users.d/" in v]
    assert mounts, "no users.d file mounted"
    source = repo_path(mounts[0].split(":")[0])
    root = ET.parse(source).getroot()
    analyst = root.find("users/analyst")
    assert analyst is not None, f"{source}: no analyst user"
    profile = root.find(f"profiles/{analyst.findtext('profile')}")
    assert profile is not None and profile.findtext("readonly") == "1"
    assert analyst.find("password").get("from_env") in env("clickhouse")
    assert [d.text for d in analyst.findall("allow_databases/database")] == [env("clickhouse")["CLICKHOUSE_DB"]]


def test_the_compose_analyst_has_the_local_limits_and_is_not_allowed_from_any_address():
    from deploy.clickhouse_server import ANALYST_LIMITS

    source = next(repo_path(v.split(":")[0]) for v in services()["clickhouse"]["volumes"] if "/users.d/" in v)
    root = ET.parse(source).getroot()
    profile = root.find(f"profiles/{root.findtext('users/analyst/profile')}")
    for name, value in ANALYST_LIMITS.items():
        assert int(profile.findtext(name.removeprefix("analyst_"))) == value, name
    assert profile.findtext("log_queries") == "0"
    gateway = compose()["networks"]["default"]["ipam"]["config"][0]["gateway"]
    allowed = {ip.text for ip in root.findall("users/analyst/networks/ip")}
    assert allowed == {"::1", "127.0.0.1", gateway}
    assert not root.findall("users/analyst/networks/host") and not root.findall("users/analyst/networks/host_regexp")


def test_the_compose_clickhouse_wants_a_grant_for_system_tables():
    mounts = [v for v in services()["clickhouse"]["volumes"] if "/etc/clickhouse-server/config.d/" in v]
    assert mounts, "no config.d file mounted"
    root = ET.parse(repo_path(mounts[0].split(":")[0])).getroot()
    assert root.findtext("access_control_improvements/select_from_system_db_requires_grant") == "true"


def test_metrics_ports_agree_with_settings_prometheus_and_health_checks():
    compose_targets, local_targets = prometheus_ports("prometheus.yml"), prometheus_ports("local")
    for service, job, variable, default in (
        ("worker", "gridflow-worker", "GRIDFLOW_WORKER_WEB_PORT", DEFAULTS.worker_web_port),
        ("projector", "gridflow-projector", "GRIDFLOW_PROJECTOR_METRICS_PORT", DEFAULTS.projector_metrics_port),
    ):
        port = int(env(service)[variable])
        assert port == default, f"{service}: {variable}={port}, Settings default {default}"
        assert compose_targets[job] == {port}, f"deploy/prometheus/prometheus.yml {job}"
        assert local_targets[job] == {default}, f"deploy/prometheus_config.py {job}"
        assert [int(p) for p in services()[service]["expose"]] == [port]
        assert f":{port}/metrics" in " ".join(services()[service]["healthcheck"]["test"])
        assert not services()[service].get("ports"), f"{service}: scraped inside the network, not published"
    dns_names = {sd["names"][0] for job in yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
                 ["scrape_configs"] for sd in job.get("dns_sd_configs", [])}
    assert dns_names <= set(services()), "a Prometheus DNS target is not a compose service"


def test_published_ports_bind_loopback_only():
    for name, service in services().items():
        for spec in service.get("ports", []):
            assert str(spec).startswith("127.0.0.1:"), f"{name}: {spec} is reachable from the network"


def test_long_running_services_have_health_checks_and_init_gates_the_pipeline():
    for name, service in services().items():
        if name != "init":
            assert service.get("healthcheck", {}).get("test"), f"{name}: no healthcheck"
    assert services()["init"]["depends_on"] == {"kafka": {"condition": "service_healthy"},
                                                "clickhouse": {"condition": "service_healthy"}}
    for name in ("worker", "projector", "api"):
        assert services()[name]["depends_on"] == {"init": {"condition": "service_completed_successfully"}}


def test_state_lives_in_named_volumes_and_bind_mounts_exist():
    declared = set(compose()["volumes"])
    used = set()
    for name, service in services().items():
        for spec in service.get("volumes", []):
            source = spec.split(":")[0]
            if source.startswith("."):
                assert repo_path(source).exists(), f"{name}: {source} does not exist"
            else:
                used.add(source)
    assert used == declared
    for name in ("kafka", "clickhouse", "prometheus", "grafana"):
        assert any(not v.startswith(".") for v in services()[name]["volumes"]), f"{name}: no named volume"


def test_prometheus_loads_the_mounted_config():
    service = services()["prometheus"]
    mount = next(v for v in service["volumes"] if v.startswith("./deploy/prometheus:"))
    target = mount.split(":")[1]
    config = next(a.split("=", 1)[1] for a in service["command"] if a.startswith("--config.file="))
    assert config.startswith(target + "/")
    assert (ROOT / "deploy" / "prometheus" / config[len(target) + 1:]).is_file()


def test_grafana_mounts_provisioning_and_the_dashboards_where_the_provider_looks():
    service = services()["grafana"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in service["volumes"]}
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/gridflow.yml").read_text())
    assert mounts["./deploy/grafana/dashboards"] == provider["providers"][0]["options"]["path"]
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    url = datasource["datasources"][0]["url"]
    listen = next(a for a in services()["prometheus"]["command"] if a.startswith("--web.listen-address="))
    assert url == f"http://prometheus:{listen.rsplit(':', 1)[1]}"
    home = env("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(mounts["./deploy/grafana/dashboards"] + "/")
    assert (ROOT / "deploy/grafana/dashboards" / Path(home).name).is_file()


def test_the_api_is_published_on_loopback_and_scraped_on_its_metrics_port_inside():
    api = env("api")
    settings = Settings.from_env({k: v for k, v in api.items() if k.startswith(ENV_PREFIX)})
    assert settings.listen_host == "0.0.0.0", "inside the network the API must listen on every interface"
    assert (settings.api_port, settings.api_metrics_port) == (DEFAULTS.api_port, DEFAULTS.api_metrics_port)
    assert published("api") == {DEFAULTS.api_port: f"127.0.0.1:{DEFAULTS.api_port}"}
    assert [int(p) for p in services()["api"]["expose"]] == [DEFAULTS.api_metrics_port]
    assert prometheus_ports("prometheus.yml")["gridflow-api"] == {DEFAULTS.api_metrics_port}
    assert prometheus_ports("local")["gridflow-api"] == {DEFAULTS.api_metrics_port}
    health = " ".join(services()["api"]["healthcheck"]["test"])
    assert f":{DEFAULTS.api_port}/health" in health and f":{DEFAULTS.api_metrics_port}/metrics" in health


def test_the_api_takes_its_keys_and_secret_from_the_environment_only():
    assert services()["api"]["environment"]["GRIDFLOW_API_KEYS"].startswith("${GRIDFLOW_API_KEYS:?")
    assert services()["api"]["environment"]["GRIDFLOW_API_SECRET"].startswith("${GRIDFLOW_API_SECRET:?")


@pytest.mark.parametrize("name", ["worker", "projector", "api"])
def test_every_scraped_service_listens_beyond_its_own_container(name):
    settings = Settings.from_env({k: v for k, v in env(name).items() if k.startswith(ENV_PREFIX)})
    assert settings.listen_host == "0.0.0.0", f"Prometheus in another container could not scrape {name}"
