#!/usr/bin/env python3
"""Drives the unmodified official Zoho CRM Python SDK (PyPI `zohocrmsdk2-0`) against a bulkwrite server.

Run by crates/cli/tests/e2e/sdk.rs against a server it starts; by hand:

    python3 bulk_write.py --base http://127.0.0.1:8080 --data-dir bulkwrite-data --mode access --workdir /tmp/x

Modes: `access` (the bootstrap access token, no token endpoint), `refresh` (client id/secret and the
bootstrap refresh token: the SDK calls POST /oauth/v2/token first), `grant` (a fresh grant code from
`bulkwrite admin grant`, which the SDK exchanges at the token endpoint).

Prints one line per step; any failed check exits 1 with a message naming the step.
"""

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
import traceback
import zipfile

STEP = "start"
PREFIX = "python"


def step(name):
    global STEP
    STEP = name


def ok(detail=""):
    print(f"{PREFIX}: ok   {STEP}{': ' + detail if detail else ''}", flush=True)


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


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
    from zcrmsdk.src.com.zoho.crm.api import record as rec
except ImportError as error:  # the test reads this line
    print(f"{PREFIX}: SDK NOT INSTALLED ({error}); run `bash .ci/run` or "
          "`python3 -m pip install -r crates/cli/tests/sdk/python/requirements.txt`", file=sys.stderr, flush=True)
    sys.exit(3)


def value(choice):
    """The plain value of a Choice (the SDK wraps enumerated response values)."""
    return choice.get_value() if isinstance(choice, Choice) else choice


def describe(obj, depth=0):
    """A readable dump of an SDK model (its private attributes), for failure messages."""
    if obj is None:
        return "None"
    if depth > 6:
        return "…"
    if isinstance(obj, Choice):
        return repr(obj.get_value())
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(describe(o, depth + 1) for o in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v, depth + 1)}" for k, v in obj.items()) + "}"
    if type(obj).__module__.startswith("zcrmsdk.") and hasattr(obj, "__dict__"):
        fields = {k.split("__", 1)[-1]: v for k, v in vars(obj).items() if not k.endswith("key_modified")}
        return type(obj).__name__ + describe(fields, depth + 1)
    return repr(obj)[:300]


def expect_object(response, what):
    check(response is not None, f"{what}: the SDK returned no APIResponse (it swallowed an SDKException; see sdk.log)")
    obj = response.get_object()
    check(obj is not None, f"{what}: HTTP {response.get_status_code()}, headers {dict(response.get_headers())}; "
                           "the SDK could not map the body (get_object() is None)")
    return obj


def expect_api_exception(response, exception_class, what, code=None):
    obj = expect_object(response, what)
    check(isinstance(obj, exception_class),
          f"{what}: expected the SDK's APIException, got {describe(obj)} (HTTP {response.get_status_code()})")
    check(value(obj.get_status()) == "error", f"{what}: APIException status is {describe(obj.get_status())}, expected 'error'")
    got = value(obj.get_code())
    if code is not None:
        check(got == code, f"{what}: APIException code {got!r}, expected {code!r} ({describe(obj)})")
    else:
        check(isinstance(got, str) and got != "", f"{what}: APIException without a code ({describe(obj)})")
    return obj


def lead_csv():
    rows = [
        ["Last_Name", "Company", "Email"],
        ["Boyle", "Acme", "boyle@example.com"],
        ["Quist", "Globex", "quist@example.com"],
        ["", "Initech", "nameless@example.com"],
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def initialize(args):
    """Reads bootstrap.json and initialises the SDK in `args.mode`; returns (boot, org_id, token store path)."""
    base = args.base
    step("read bootstrap.json")
    with open(os.path.join(args.data_dir, "bootstrap.json")) as f:
        boot = json.load(f)
    for key in ["org_id", "user_email", "access_token", "client_id", "client_secret", "refresh_token"]:
        check(isinstance(boot.get(key), str) and boot[key], f"bootstrap.json lacks {key!r}")
    org_id = boot["org_id"]
    ok(f"org {org_id}")

    step(f"initialize SDK ({args.mode} mode)")
    if args.mode == "access":
        token = OAuthToken(access_token=boot["access_token"])
    elif args.mode == "refresh":
        token = OAuthToken(client_id=boot["client_id"], client_secret=boot["client_secret"],
                           refresh_token=boot["refresh_token"])
    else:
        scopes = ("ZohoCRM.bulk.ALL,ZohoFiles.files.ALL,ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,"
                  "ZohoCRM.users.ALL,ZohoCRM.org.ALL")
        done = subprocess.run([args.bulkwrite, "admin", "grant", "--data-dir", args.data_dir, "--scopes", scopes],
                              capture_output=True, text=True)
        check(done.returncode == 0, f"`bulkwrite admin grant` exited {done.returncode}: {done.stderr.strip()}")
        lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        check(len(lines) >= 1, f"`bulkwrite admin grant` printed no code: {done.stdout!r}")
        grant = lines[-1]
        print(f"{PREFIX}: grant code {grant[:12]}…", flush=True)
        token = OAuthToken(client_id=boot["client_id"], client_secret=boot["client_secret"], grant_token=grant)
    environment = DataCenter.Environment(base, base + "/oauth/v2/token", base, "local")
    store_path = os.path.join(args.workdir, "sdk_tokens.csv")
    Initializer.initialize(
        user=UserSignature(boot["user_email"].lower()),
        environment=environment,
        token=token,
        store=FileStore(store_path),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=args.workdir,
        logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(args.workdir, "sdk.log")),
    )
    ok(f"SDK {sdk_version()}")
    return boot, org_id, store_path


def main():
    global PREFIX
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--data-dir", required=True, help="the server's data directory (bootstrap.json)")
    parser.add_argument("--mode", required=True, choices=["access", "refresh", "grant"])
    parser.add_argument("--workdir", required=True, help="scratch directory (token store, log, files)")
    parser.add_argument("--bulkwrite", default="bulkwrite", help="the bulkwrite binary (grant mode)")
    args = parser.parse_args()
    PREFIX = f"python[{args.mode}]"
    base = args.base
    os.makedirs(args.workdir, exist_ok=True)

    boot, org_id, store_path = initialize(args)

    ops = BulkWriteOperations()

    step("upload file (POST /crm/v2/upload)")
    csv_path = os.path.join(args.workdir, "Leads.csv")
    with open(csv_path, "w") as f:
        f.write(lead_csv())
    zip_path = os.path.join(args.workdir, "Leads.zip")
    with zipfile.ZipFile(zip_path, "w") as z:
        z.write(csv_path, "Leads.csv")
    body = bw.FileBodyWrapper()
    body.set_file(StreamWrapper(file_path=zip_path))
    headers = HeaderMap()
    headers.add(UploadFileHeader.feature, "bulk-write")
    headers.add(UploadFileHeader.x_crm_org, org_id)
    response = ops.upload_file(body, headers)
    obj = expect_object(response, "upload")
    check(isinstance(obj, bw.SuccessResponse), f"upload: expected SuccessResponse, got {describe(obj)}")
    check(value(obj.get_status()) == "success", f"upload: status {describe(obj.get_status())}")
    check(value(obj.get_code()) == "FILE_UPLOAD_SUCCESS", f"upload: code {describe(obj.get_code())}")
    file_id = obj.get_details().get("file_id")
    check(file_id is not None and str(file_id).isdigit(), f"upload: details.file_id {file_id!r}")
    file_id = str(file_id)
    ok(f"file_id {file_id} (HTTP {response.get_status_code()})")

    if args.mode != "access":
        step("token store holds the token from the token endpoint")
        with open(store_path) as f:
            stored = list(csv.reader(f))
        check(len(stored) >= 2, f"the SDK stored no token in {store_path}: {stored!r}")
        ok(f"{len(stored) - 1} token row(s)")

    step("create bulk write job (POST /crm/bulk/v2/write)")
    request = bw.RequestWrapper()
    request.set_operation(Choice("insert"))
    request.set_character_encoding("UTF-8")
    resource = bw.Resource()
    resource.set_type(Choice("data"))
    resource.set_module("Leads")
    resource.set_file_id(file_id)
    resource.set_ignore_empty(True)
    mappings = []
    for index, name in enumerate(["Last_Name", "Company", "Email"]):
        mapping = bw.FieldMapping()
        mapping.set_api_name(name)
        mapping.set_index(index)
        mappings.append(mapping)
    resource.set_field_mappings(mappings)
    request.set_resource([resource])
    response = ops.create_bulk_write_job(request)
    obj = expect_object(response, "create job")
    check(isinstance(obj, bw.SuccessResponse), f"create job: expected SuccessResponse, got {describe(obj)}")
    check(value(obj.get_code()) == "SUCCESS", f"create job: code {describe(obj.get_code())}")
    job_id = obj.get_details().get("id")
    check(job_id is not None and str(job_id).isdigit(), f"create job: details.id {job_id!r}")
    job_id = int(job_id)
    ok(f"job {job_id} (HTTP {response.get_status_code()})")

    step("poll get_bulk_write_job_details until COMPLETED")
    deadline = time.time() + 120
    seen = []
    while True:
        response = ops.get_bulk_write_job_details(job_id)
        job = expect_object(response, "job details")
        check(isinstance(job, bw.BulkWriteResponse), f"job details: expected BulkWriteResponse, got {describe(job)}")
        status = value(job.get_status())
        if not seen or seen[-1] != status:
            seen.append(status)
        check(status in ("ADDED", "IN PROGRESS", "COMPLETED"), f"job status {status!r} ({describe(job)})")
        if status == "COMPLETED":
            break
        check(time.time() < deadline, f"job {job_id} not COMPLETED after 120 s; statuses {seen}")
        time.sleep(0.2)
    check(int(job.get_id()) == job_id, f"job details id {job.get_id()!r}, expected {job_id}")
    check(value(job.get_operation()) == "insert", f"job operation {describe(job.get_operation())}")
    resources = job.get_resource() or []
    check(len(resources) == 1, f"job resource {describe(resources)}")
    check(value(resources[0].get_status()) == "COMPLETED", f"resource status {describe(resources[0].get_status())}")
    counts = resources[0].get_file()
    check(counts is not None, "job resource has no file counts")
    got = (counts.get_added_count(), counts.get_skipped_count(), counts.get_updated_count(), counts.get_total_count())
    check(got == (2, 1, 0, 3), f"file counts (added, skipped, updated, total) = {got}, expected (2, 1, 0, 3)")
    download_url = job.get_result().get_download_url() if job.get_result() else None
    check(isinstance(download_url, str) and download_url.startswith(base + "/"),
          f"result.download_url {download_url!r} is not an absolute URL on {base}")
    ok(f"statuses {' -> '.join(seen)}; counts {got}")

    step("download result through the SDK")
    response = ops.download_bulk_write_result(download_url)
    obj = expect_object(response, "download")
    check(isinstance(obj, bw.FileBodyWrapper), f"download: expected FileBodyWrapper, got {describe(obj)}")
    stream = obj.get_file()
    name = stream.get_name()
    check(name == f"{job_id}.zip", f"download: file name {name!r}, expected '{job_id}.zip'")
    result_path = os.path.join(args.workdir, "result-" + name)
    with open(result_path, "wb") as f:
        for chunk in stream.get_stream():
            f.write(chunk)
    with zipfile.ZipFile(result_path) as z:
        names = z.namelist()
        check(len(names) == 1, f"result zip holds {names}, expected one CSV")
        text = z.read(names[0]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    check(rows and rows[0] == ["Last_Name", "Company", "Email", "STATUS", "RECORD_ID", "ERRORS"],
          f"result header {rows[:1]}")
    check(len(rows) == 4, f"result has {len(rows) - 1} data rows, expected 3: {rows}")
    for row, last in zip(rows[1:3], ["Boyle", "Quist"]):
        check(row[0] == last and row[3] == "ADDED" and row[4].isdigit() and row[5] == "",
              f"result row {row}: expected {last!r} ADDED with a record id and no errors")
    skipped = rows[3]
    check(skipped[3] == "SKIPPED" and skipped[4] == "" and skipped[5] == "MANDATORY_NOT_FOUND-Last_Name",
          f"result row {skipped}: expected SKIPPED with ERRORS 'MANDATORY_NOT_FOUND-Last_Name'")
    bulk_record_id = int(rows[1][4])
    ok(f"{names[0]}: ADDED, ADDED, SKIPPED ({skipped[5]})")

    step("error: upload without feature/X-CRM-ORG headers")
    body = bw.FileBodyWrapper()
    body.set_file(StreamWrapper(file_path=zip_path))
    response = ops.upload_file(body)
    err = expect_api_exception(response, bw.APIException, "upload without headers")
    ok(f"APIException {value(err.get_code())} (HTTP {response.get_status_code()}): {value(err.get_message())}")

    step("error: create job with an unknown file_id")
    resource.set_file_id("111111000000999999")
    request.set_resource([resource])
    response = ops.create_bulk_write_job(request)
    err = expect_api_exception(response, bw.APIException, "create job with unknown file_id", "FILE_NOT_SUPPORTED")
    ok(f"APIException FILE_NOT_SUPPORTED (HTTP {response.get_status_code()})")

    step("error: job details of an unknown job id")
    response = ops.get_bulk_write_job_details(111111000000999999)
    err = expect_api_exception(response, bw.APIException, "unknown job", "RESOURCE_NOT_FOUND")
    ok(f"APIException RESOURCE_NOT_FOUND (HTTP {response.get_status_code()})")

    records = rec.RecordOperations()

    step("records: get_record of a bulk-inserted lead")
    response = records.get_record(bulk_record_id, "Leads")
    obj = expect_object(response, "get_record (bulk)")
    check(isinstance(obj, rec.ResponseWrapper), f"get_record: expected ResponseWrapper, got {describe(obj)}")
    data = obj.get_data() or []
    check(len(data) == 1 and data[0].get_id() == bulk_record_id, f"get_record data {describe(data)}")
    check(data[0].get_key_value("Last_Name") == "Boyle", f"Last_Name {data[0].get_key_value('Last_Name')!r}")
    ok(f"lead {bulk_record_id} Last_Name Boyle")

    step("records: create_records (POST /crm/v2/Leads)")
    lead = rec.Record()
    lead.add_key_value("Last_Name", "Sdkwright")
    lead.add_key_value("Company", "Python SDK Ltd")
    lead.add_key_value("Email", "sdkwright@example.com")
    wrapper = rec.BodyWrapper()
    wrapper.set_data([lead])
    response = records.create_records("Leads", wrapper)
    obj = expect_object(response, "create_records")
    check(isinstance(obj, rec.ActionWrapper), f"create_records: expected ActionWrapper, got {describe(obj)}")
    actions = obj.get_data() or []
    check(len(actions) == 1 and isinstance(actions[0], rec.SuccessResponse),
          f"create_records: expected one SuccessResponse, got {describe(actions)}")
    check(value(actions[0].get_code()) == "SUCCESS", f"create_records: code {describe(actions[0].get_code())}")
    new_id = actions[0].get_details().get("id")
    check(new_id is not None and str(new_id).isdigit(), f"create_records: details.id {new_id!r}")
    new_id = int(new_id)
    ok(f"lead {new_id} (HTTP {response.get_status_code()})")

    step("records: get_record of the created lead")
    response = records.get_record(new_id, "Leads")
    obj = expect_object(response, "get_record")
    check(isinstance(obj, rec.ResponseWrapper), f"get_record: expected ResponseWrapper, got {describe(obj)}")
    data = obj.get_data() or []
    check(len(data) == 1 and data[0].get_id() == new_id, f"get_record data {describe(data)}")
    for key, expected in [("Last_Name", "Sdkwright"), ("Company", "Python SDK Ltd"), ("Email", "sdkwright@example.com")]:
        check(data[0].get_key_value(key) == expected, f"{key} {data[0].get_key_value(key)!r}, expected {expected!r}")
    ok("Last_Name, Company, Email read back")

    print(f"{PREFIX}: all steps passed", flush=True)


def sdk_version():
    try:
        from importlib.metadata import version
        return version("zohocrmsdk2-0")
    except Exception:
        return "?"


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print(f"{PREFIX}: FAIL {STEP}: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as error:  # an SDKException or anything else the SDK raised
        traceback.print_exc()
        detail = error.__str__()
        print(f"{PREFIX}: FAIL {STEP}: {type(error).__name__}: {detail}", file=sys.stderr, flush=True)
        sys.exit(1)
