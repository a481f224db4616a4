#!/usr/bin/env python3
"""Drives the unmodified official Zoho CRM Python SDK's Bulk Read (PyPI `zohocrmsdk2-0`) against a bulkwrite server.

Run by crates/cli/tests/e2e/sdk.rs against a server it starts; by hand:

    python3 bulk_read.py --base http://127.0.0.1:8080 --data-dir bulkwrite-data --mode access --workdir /tmp/x

Writes three leads through the SDK's records API, exports the two matching a criteria with
`create_bulk_read_job`, polls `get_bulk_read_job_details`, downloads with `download_result`, and
checks Zoho's errors for an unknown module and an unknown job. Modes as in bulk_write.py.
"""

import argparse
import csv
import io
import os
import sys
import time
import traceback
import zipfile

import bulk_write as common
from bulk_write import check, describe, expect_api_exception, expect_object, ok, step, value, CheckFailed

try:
    from zcrmsdk.src.com.zoho.crm.api import bulk_read as br
    from zcrmsdk.src.com.zoho.crm.api import record as rec
    from zcrmsdk.src.com.zoho.crm.api.util import Choice
except ImportError as error:  # the test reads this line
    print(f"python: SDK NOT INSTALLED ({error})", file=sys.stderr, flush=True)
    sys.exit(3)

MARKER = "@marker.example"


def write_leads():
    step("records: create_records (three leads, two at " + MARKER + ")")
    leads = []
    for last, email in [("Reader", "reader" + MARKER), ("Skipped", "skip@elsewhere.example"), ("Exported", "exported" + MARKER)]:
        lead = rec.Record()
        lead.add_key_value("Last_Name", last)
        lead.add_key_value("Company", "Read Ltd")
        lead.add_key_value("Email", email)
        leads.append(lead)
    wrapper = rec.BodyWrapper()
    wrapper.set_data(leads)
    response = rec.RecordOperations().create_records("Leads", wrapper)
    obj = expect_object(response, "create_records")
    check(isinstance(obj, rec.ActionWrapper), f"create_records: expected ActionWrapper, got {describe(obj)}")
    actions = obj.get_data() or []
    check(len(actions) == 3 and all(isinstance(a, rec.SuccessResponse) for a in actions), f"create_records {describe(actions)}")
    ok("three leads")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--mode", required=True, choices=["access", "refresh", "grant"])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--bulkwrite", default="bulkwrite")
    args = parser.parse_args()
    common.PREFIX = f"python-read[{args.mode}]"
    os.makedirs(args.workdir, exist_ok=True)
    common.initialize(args)
    write_leads()
    ops = br.BulkReadOperations()

    step("create bulk read job (POST /crm/bulk/v2/read)")
    request = br.RequestWrapper()
    query = br.Query()
    query.set_module("Leads")
    query.set_fields(["Last_Name", "Email", "Company"])
    query.set_page(1)
    criteria = br.Criteria()
    criteria.set_api_name("Email")
    criteria.set_comparator(Choice("ends_with"))
    criteria.set_value(MARKER)
    query.set_criteria(criteria)
    request.set_query(query)
    request.set_file_type(Choice("csv"))
    response = ops.create_bulk_read_job(request)
    obj = expect_object(response, "create read job")
    check(isinstance(obj, br.ActionWrapper), f"create read job: expected ActionWrapper, got {describe(obj)}")
    actions = obj.get_data() or []
    check(len(actions) == 1 and isinstance(actions[0], br.SuccessResponse), f"create read job: {describe(actions)}")
    check(value(actions[0].get_code()) == "ADDED_SUCCESSFULLY", f"code {describe(actions[0].get_code())}")
    details = actions[0].get_details()
    job_id = int(details.get("id"))
    ok(f"job {job_id} (HTTP {response.get_status_code()})")

    step("poll get_bulk_read_job_details until COMPLETED")
    deadline = time.time() + 120
    seen = []
    while True:
        response = ops.get_bulk_read_job_details(job_id)
        obj = expect_object(response, "read job details")
        check(isinstance(obj, br.ResponseWrapper), f"details: expected ResponseWrapper, got {describe(obj)}")
        job = (obj.get_data() or [None])[0]
        check(isinstance(job, br.JobDetail), f"details: expected a JobDetail, got {describe(obj)}")
        state = value(job.get_state())
        if not seen or seen[-1] != state:
            seen.append(state)
        check(state in ("ADDED", "QUEUED", "IN PROGRESS", "COMPLETED"), f"state {state!r} ({describe(job)})")
        if state == "COMPLETED":
            break
        check(time.time() < deadline, f"read job {job_id} not COMPLETED after 120 s; states {seen}")
        time.sleep(0.2)
    check(int(job.get_id()) == job_id, f"details id {job.get_id()!r}")
    check(job.get_query().get_module() == "Leads", f"query.module {describe(job.get_query())}")
    result = job.get_result()
    got = (result.get_page(), result.get_count(), result.get_per_page(), result.get_more_records())
    check(got == (1, 2, 200000, False), f"result (page, count, per_page, more_records) = {got}")
    ok(f"states {' -> '.join(seen)}; result {got}")

    step("download_result")
    response = ops.download_result(job_id)
    obj = expect_object(response, "download")
    check(isinstance(obj, br.FileBodyWrapper), f"download: expected FileBodyWrapper, got {describe(obj)}")
    stream = obj.get_file()
    check(stream.get_name() == f"{job_id}.zip", f"download: file name {stream.get_name()!r}")
    path = os.path.join(args.workdir, stream.get_name())
    with open(path, "wb") as f:
        for chunk in stream.get_stream():
            f.write(chunk)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        check(names == [f"{job_id}.csv"], f"zip holds {names}")
        rows = list(csv.reader(io.StringIO(z.read(names[0]).decode("utf-8"))))
    check(rows[0] == ["id", "Last_Name", "Email", "Company"], f"header {rows[0]}")
    check([r[1] for r in rows[1:]] == ["Reader", "Exported"], f"rows {rows[1:]}")
    check(all(r[0].isdigit() for r in rows[1:]), f"ids {rows[1:]}")
    ok(f"{names[0]}: {len(rows) - 1} records")

    step("error: an unknown module")
    query.set_module("Spaceships")
    response = ops.create_bulk_read_job(request)
    err = expect_api_exception(response, br.APIException, "unknown module", "MODULE_NOT_AVAILABLE")
    ok(f"APIException {value(err.get_code())} (HTTP {response.get_status_code()})")

    step("error: details of an unknown job")
    response = ops.get_bulk_read_job_details(111111000000999999)
    expect_api_exception(response, br.APIException, "unknown job", "RESOURCE_NOT_FOUND")
    ok(f"APIException RESOURCE_NOT_FOUND (HTTP {response.get_status_code()})")

    print(f"{common.PREFIX}: all steps passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print(f"{common.PREFIX}: FAIL {common.STEP}: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as error:
        traceback.print_exc()
        print(f"{common.PREFIX}: FAIL {common.STEP}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
