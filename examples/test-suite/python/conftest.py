"""Fixtures that point the official Zoho SDK at a bulkwrite server and drive its test controls.

Start the server first (see the README's "Using bulkwrite in your test suite"):

    bulkwrite serve --test-controls --data-dir bulkwrite-test &
    BULKWRITE_URL=http://127.0.0.1:8080 BULKWRITE_DATA_DIR=bulkwrite-test python3 -m pytest examples/test-suite/python
"""

import json
import os
import time

import pytest
import requests

from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zcrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zcrmsdk.src.com.zoho.api.logger import Logger
from zcrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zcrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zcrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zcrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from leads_sync import LeadsImport


class Controls:
    """bulkwrite's test controls (`/bulkwrite/v1/…`), called with the org's own token."""

    def __init__(self, base, org_id, token):
        self.base, self.org_id = base, org_id
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Zoho-oauthtoken {token}"

    def call(self, method, path, body=None, expect=(200, 201, 202)):
        response = self.http.request(method, self.base + path, json=body, timeout=60)
        assert response.status_code in expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    # Faults: Zoho's errors, latency, failing jobs and callbacks, on purpose.
    def add_fault(self, **rule):
        return self.call("POST", "/bulkwrite/v1/faults", rule)["id"]

    def fault(self, rule_id):
        return next(rule for rule in self.call("GET", "/bulkwrite/v1/faults")["faults"] if rule["id"] == rule_id)

    # The clock every expiry reads.
    def advance_clock(self, amount):
        return self.call("POST", "/bulkwrite/v1/clock", {"advance": amount})

    # The queue: pause it, run one chunk of a job, resume it.
    def pause_queue(self):
        return self.call("POST", "/bulkwrite/v1/queue/pause")

    def step(self, job_id):
        return self.call("POST", "/bulkwrite/v1/queue/step", {"job_id": str(job_id)})

    def resume_queue(self):
        return self.call("POST", "/bulkwrite/v1/queue/resume")

    # The built-in callback receiver.
    def inbox_url(self, name):
        return f"{self.base}/bulkwrite/v1/inbox/{name}"

    def inbox(self, name, count=1, timeout_seconds=30):
        """Waits until `count` deliveries arrived at the inbox `name`; returns them."""
        deadline = time.time() + timeout_seconds
        while True:
            deliveries = self.call("GET", f"/bulkwrite/v1/inbox/{name}")["deliveries"]
            if len(deliveries) >= count or time.time() > deadline:
                return deliveries
            time.sleep(0.1)

    # Back to a known state.
    def reset(self):
        return self.call("POST", f"/bulkwrite/v1/orgs/{self.org_id}/reset")

    def snapshot(self, name):
        return self.call("POST", f"/bulkwrite/v1/orgs/{self.org_id}/snapshots", {"name": name})

    def restore(self, name):
        return self.call("POST", f"/bulkwrite/v1/orgs/{self.org_id}/snapshots/{name}/restore")


@pytest.fixture(scope="session")
def server():
    base = os.environ.get("BULKWRITE_URL", "http://127.0.0.1:8080").rstrip("/")
    data_dir = os.environ.get("BULKWRITE_DATA_DIR", "bulkwrite-data")
    with open(os.path.join(data_dir, "bootstrap.json")) as f:
        boot = json.load(f)
    return {"base": base, "org_id": boot["org_id"], "user_email": boot["user_email"], "token": boot["access_token"]}


@pytest.fixture(scope="session", autouse=True)
def zoho_sdk(server, tmp_path_factory):
    """The official SDK, initialised once against the server as it would be against Zoho's data centre."""
    work = tmp_path_factory.mktemp("sdk")
    environment = DataCenter.Environment(server["base"], server["base"] + "/oauth/v2/token", server["base"], "local")
    Initializer.initialize(
        user=UserSignature(server["user_email"].lower()),
        environment=environment,
        token=OAuthToken(access_token=server["token"]),
        store=FileStore(str(work / "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=str(work),
        logger=Logger.get_instance(Logger.Levels.INFO, str(work / "sdk.log")),
    )


@pytest.fixture
def controls(server):
    """The test controls; after each test the org is reset and every control put back."""
    controls = Controls(server["base"], server["org_id"], server["token"])
    yield controls
    controls.call("DELETE", "/bulkwrite/v1/faults")
    controls.call("POST", "/bulkwrite/v1/queue/resume")
    controls.call("POST", "/bulkwrite/v1/clock", {"reset": True})
    controls.reset()


@pytest.fixture
def leads(server, controls):
    return LeadsImport(server["org_id"])
