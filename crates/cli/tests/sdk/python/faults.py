#!/usr/bin/env python3
"""What the unmodified official Zoho CRM Python SDK (PyPI `zohocrmsdk2-0`) makes of a bulkwrite fault.

Run by crates/cli/tests/e2e/fault_rules_sdk.rs against a server started with --test-controls; by hand:

    python3 faults.py --base http://127.0.0.1:8080 --data-dir bulkwrite-data --workdir /tmp/x --status 429

Adds a fault rule (POST /bulkwrite/v1/faults with the bootstrap token, as a test suite would) that answers
the next three Zoho requests with the error of --status (429 TOO_MANY_REQUESTS, 500 INTERNAL_ERROR, 401
INVALID_TOKEN), then makes three SDK calls (upload_file, create_bulk_write_job,
get_bulk_write_job_details) and prints, for each, one line `FAULT_RESULT {json}`: the HTTP status the SDK
reports, the class of the object it returned (APIException, SuccessResponse, …) and its fields, and the
answer's X-API-CREDITS-REMAINING header. A fourth call (the rule used up) must succeed. The Rust test
asserts the lines; this script only fails on what it cannot do.
"""

import argparse
import json
import os
import sys
import traceback
import zipfile

import requests

try:
    from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zcrmsdk.src.com.zoho.api.authenticator.store import FileStore
    from zcrmsdk.src.com.zoho.api.logger import Logger
    from zcrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zcrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
    from zcrmsdk.src.com.zoho.crm.api.initializer import Initializer
    from zcrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
    from zcrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
    from zcrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper
    from zcrmsdk.src.com.zoho.crm.api import bulk_write as bw
    from zcrmsdk.src.com.zoho.crm.api.bulk_write.bulk_write_operations import BulkWriteOperations, UploadFileHeader
except ImportError as error:  # the test reads this line
    print(f"faults: SDK NOT INSTALLED ({error}); run "
          "`python3 -m pip install -r crates/cli/tests/sdk/python/requirements.txt`", file=sys.stderr, flush=True)
    sys.exit(3)

CODES = {429: "TOO_MANY_REQUESTS", 500: "INTERNAL_ERROR", 401: "INVALID_TOKEN"}


def value(choice):
    return choice.get_value() if isinstance(choice, Choice) else choice


def header(headers, name):
    for key, text in (headers or {}).items():
        if key.lower() == name.lower():
            return text
    return None


def outcome(call, response):
    """One call's result as the SDK gave it."""
    if response is None:
        return {"call": call, "response": None}
    obj = response.get_object()
    result = {
        "call": call,
        "http_status": response.get_status_code(),
        "credits_remaining": header(response.get_headers(), "X-API-CREDITS-REMAINING"),
        "type": type(obj).__name__ if obj is not None else None,
    }
    for field in ["status", "code", "message", "details"]:
        getter = getattr(obj, f"get_{field}", None)
        result[field] = value(getter()) if getter else None
    return result


def initialize_sdk(base, boot, workdir):
    """The SDK against the server at `base`, with the bootstrap access token (`boot` is bootstrap.json)."""
    Initializer.initialize(
        user=UserSignature(boot["user_email"].lower()),
        environment=DataCenter.Environment(base, base + "/oauth/v2/token", base, "local"),
        token=OAuthToken(access_token=boot["access_token"]),
        store=FileStore(os.path.join(workdir, "sdk_tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=workdir,
        logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(workdir, "sdk.log")),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--status", required=True, type=int, choices=sorted(CODES))
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    with open(os.path.join(args.data_dir, "bootstrap.json")) as f:
        boot = json.load(f)

    # The test suite's side: a rule for the next three Zoho requests.
    rule = {"status": args.status, "code": CODES[args.status], "times": 3}
    added = requests.post(args.base + "/bulkwrite/v1/faults", json=rule,
                          headers={"Authorization": "Zoho-oauthtoken " + boot["access_token"]})
    if added.status_code != 201:
        print(f"faults: FAIL adding the rule: HTTP {added.status_code} {added.text}", file=sys.stderr, flush=True)
        sys.exit(1)

    initialize_sdk(args.base, boot, args.workdir)
    ops = BulkWriteOperations()
    zip_path = os.path.join(args.workdir, "Leads.zip")
    with zipfile.ZipFile(zip_path, "w") as z:
        z.writestr("Leads.csv", "Last_Name,Company\nBoyle,Acme\n")

    def upload():
        body = bw.FileBodyWrapper()
        body.set_file(StreamWrapper(file_path=zip_path))
        headers = HeaderMap()
        headers.add(UploadFileHeader.feature, "bulk-write")
        headers.add(UploadFileHeader.x_crm_org, boot["org_id"])
        return ops.upload_file(body, headers)

    request = bw.RequestWrapper()
    request.set_operation(Choice("insert"))
    resource = bw.Resource()
    resource.set_type(Choice("data"))
    resource.set_module("Leads")
    resource.set_file_id("111111000000999999")
    request.set_resource([resource])

    print("FAULT_RESULT " + json.dumps(outcome("upload_file", upload()), default=str), flush=True)
    print("FAULT_RESULT " + json.dumps(outcome("create_bulk_write_job", ops.create_bulk_write_job(request)), default=str), flush=True)
    details = ops.get_bulk_write_job_details(111111000000999999)
    print("FAULT_RESULT " + json.dumps(outcome("get_bulk_write_job_details", details), default=str), flush=True)
    print("FAULT_RESULT " + json.dumps(outcome("upload_file after the rule", upload()), default=str), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        traceback.print_exc()
        print(f"faults: FAIL {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
