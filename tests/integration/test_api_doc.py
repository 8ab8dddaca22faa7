"""docs/api.md's curl session runs as written against a running `gridflow api` and worker: every
```bash block of the page, in order, in one shell with API and KEY set (curl -f fails on an HTTP
error, so an example that stopped working fails here). Also measures how soon a new request
shows as routed: the freshness docs/api.md states."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from api_process import api_beside_a_worker

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def session_script() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "docs" / "api.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 8, "docs/api.md lost its curl session"
    return "set -euo pipefail\n" + "\n".join(blocks)


@pytest.fixture
def api(settings, kafka_bootstrap, tmp_path):
    with api_beside_a_worker(settings, tmp_path, "api-doc", seed=4) as process:
        yield process


def test_the_curl_session_of_the_api_doc_runs(api):
    done = subprocess.run(["bash", "-c", session_script()], capture_output=True, text=True, errors="replace", timeout=120,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "API": api.url, "KEY": api.key})
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert '"service_request_id"' in done.stdout and "<service_definition>" in done.stdout
    assert '"code":404' in done.stdout and "<errors><error><code>404</code>" in done.stdout


def test_a_new_request_shows_as_routed_well_under_a_second_after_its_post(api):
    http = requests.Session()
    delays = []
    for i in range(10):
        posted = http.post(api.url + "/requests.json", headers={"X-Api-Key": api.key}, timeout=30,
                           data={"service_code": "sanitation", "address_id": "u-beijiang-c03"})
        matter, start = posted.json()[0]["service_request_id"], time.perf_counter()
        while http.get(f"{api.url}/requests/{matter}.json", timeout=10).json()[0]["gridflow"]["state"] != "new":
            assert time.perf_counter() - start < 10, "not routed within 10 s"
            time.sleep(0.01)
        delays.append(time.perf_counter() - start)
    delays.sort()
    print(f"\nAPI freshness: routed and visible {delays[5] * 1000:.0f} ms (median), {delays[-1] * 1000:.0f} ms (max) "
          "after the POST's answer")
    assert delays[5] < 1.0
