#!/usr/bin/env python3
"""What the unmodified official Zoho CRM Python SDK (PyPI `zohocrmsdk2-0`) sees of a latency, job or callback fault.

Run by crates/cli/tests/e2e/fault_rules_sdk.rs against a server started with --test-controls; by hand:

    python3 fault_jobs.py --base http://127.0.0.1:8080 --data-dir bulkwrite-data --workdir /tmp/x --rule '{"job": {"fail_at_row": 1}}'

Adds the rule (POST /bulkwrite/v1/faults, the bootstrap token), uploads three Leads through the SDK, creates an
insert job with a callback to the built-in inbox, polls get_bulk_write_job_details until the job ends and
downloads its result through the SDK. Prints `FAULT_RESULT {json}` lines: each details call's class, HTTP
status and milliseconds, the job's final status, counts and result STATUS column, and the callback attempts the
server recorded. The Rust test asserts them; this script only fails on what it cannot do.
"""

import argparse
import csv
import io
import json
import os
import sys
import time
import traceback
import zipfile

import requests

from faults import initialize_sdk, value  # the SDK import check runs there
from zcrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zcrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper
from zcrmsdk.src.com.zoho.crm.api import bulk_write as bw
from zcrmsdk.src.com.zoho.crm.api.bulk_write.bulk_write_operations import BulkWriteOperations, UploadFileHeader


def emit(result):
    print("FAULT_RESULT " + json.dumps(result, default=str), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--rule", required=True, help="the fault rule, as JSON")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    with open(os.path.join(args.data_dir, "bootstrap.json")) as f:
        boot = json.load(f)
    auth = {"Authorization": "Zoho-oauthtoken " + boot["access_token"]}
    added = requests.post(args.base + "/bulkwrite/v1/faults", json=json.loads(args.rule), headers=auth)
    if added.status_code != 201:
        print(f"fault_jobs: FAIL adding the rule: HTTP {added.status_code} {added.text}", file=sys.stderr, flush=True)
        sys.exit(1)

    initialize_sdk(args.base, boot, args.workdir)
    ops = BulkWriteOperations()
    zip_path = os.path.join(args.workdir, "Leads.zip")
    with zipfile.ZipFile(zip_path, "w") as z:
        z.writestr("Leads.csv", "Last_Name,Company\nBoyle,Acme\nQuist,Globex\nMarsh,Initech\n")
    body = bw.FileBodyWrapper()
    body.set_file(StreamWrapper(file_path=zip_path))
    headers = HeaderMap()
    headers.add(UploadFileHeader.feature, "bulk-write")
    headers.add(UploadFileHeader.x_crm_org, boot["org_id"])
    file_id = str(ops.upload_file(body, headers).get_object().get_details()["file_id"])

    request = bw.RequestWrapper()
    request.set_operation(Choice("insert"))
    resource = bw.Resource()
    resource.set_type(Choice("data"))
    resource.set_module("Leads")
    resource.set_file_id(file_id)
    mappings = []
    for index, name in enumerate(["Last_Name", "Company"]):
        mapping = bw.FieldMapping()
        mapping.set_api_name(name)
        mapping.set_index(index)
        mappings.append(mapping)
    resource.set_field_mappings(mappings)
    request.set_resource([resource])
    callback = bw.CallBack()
    callback.set_url(args.base + "/bulkwrite/v1/inbox/fault-jobs")
    callback.set_method(Choice("post"))
    request.set_callback(callback)
    job_id = int(ops.create_bulk_write_job(request).get_object().get_details()["id"])

    deadline = time.time() + 120
    statuses = []
    while True:
        started = time.monotonic()
        response = ops.get_bulk_write_job_details(job_id)
        elapsed_ms = int((time.monotonic() - started) * 1000)
        job = response.get_object()
        status = value(job.get_status()) if hasattr(job, "get_status") else None
        emit({"call": "get_bulk_write_job_details", "http_status": response.get_status_code(),
              "type": type(job).__name__, "status": status, "elapsed_ms": elapsed_ms})
        if not statuses or statuses[-1] != status:
            statuses.append(status)
        if status in ("COMPLETED", "FAILED") or time.time() > deadline:
            break
        time.sleep(0.05)
    resource = (job.get_resource() or [None])[0]
    file = resource.get_file() if resource is not None else None
    final = {"call": "final", "statuses": statuses, "type": type(job).__name__, "status": status,
             "resource_status": value(resource.get_status()) if resource is not None else None,
             "counts": None if file is None else {"added": file.get_added_count(), "skipped": file.get_skipped_count(),
                                                  "updated": file.get_updated_count(), "total": file.get_total_count()},
             "result_statuses": None}
    result = job.get_result()
    url = result.get_download_url() if result is not None else None
    if url:
        download = ops.download_bulk_write_result(url).get_object()
        if isinstance(download, bw.FileBodyWrapper):
            data = b"".join(download.get_file().get_stream())
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                rows = list(csv.DictReader(io.StringIO(z.read(z.namelist()[0]).decode("utf-8-sig"))))
            final["result_statuses"] = [row["STATUS"] for row in rows]
    emit(final)
    # The callback: the SDK has no part in it; the server's record of its attempts shows what the fault did.
    for _ in range(200):
        report = requests.get(f"{args.base}/bulkwrite/v1/jobs/{job_id}/callback", headers=auth).json()
        if report.get("attempts"):
            break
        time.sleep(0.05)
    emit({"call": "callback report", "report": report})


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        traceback.print_exc()
        print(f"fault_jobs: FAIL {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
