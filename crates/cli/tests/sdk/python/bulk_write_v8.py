#!/usr/bin/env python3
"""Drives the unmodified official Zoho CRM Python v8 SDK (PyPI `zohocrmsdk8-0`) against a bulkwrite server.

Run by crates/cli/tests/e2e/sdk.rs against a server it starts (with callbacks to 127.0.0.1 allowed); by hand:

    python3 bulk_write_v8.py --base http://127.0.0.1:8080 --data-dir bulkwrite-data --mode access --workdir /tmp/x

Steps: upload (POST /crm/v8/upload) -> create with a callback (POST /crm/bulk/v8/write) -> the callback
arrives -> poll details (GET /crm/bulk/v8/write/{id}) -> download -> the SDK's APIException for refused
requests. Modes: `access` (bootstrap access token) or `refresh` (the SDK calls POST /oauth/v2/token first).
"""

import argparse
import csv
import http.server
import io
import json
import os
import sys
import threading
import time
import traceback
import zipfile

STEP = "start"
PREFIX = "python-v8"


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
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
    from zohocrmsdk.src.com.zoho.api.logger import Logger
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zohocrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
    from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
    from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper
    from zohocrmsdk.src.com.zoho.crm.api import bulk_write as bw
    from zohocrmsdk.src.com.zoho.crm.api.bulk_write.bulk_write_operations import BulkWriteOperations, UploadFileHeader
    from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
except ImportError as error:  # the test reads this line
    print(f"{PREFIX}: SDK NOT INSTALLED ({error}); run `bash .ci/run` or "
          "`python3 -m pip install -r crates/cli/tests/sdk/python/requirements.txt`", file=sys.stderr, flush=True)
    sys.exit(3)


def value(choice):
    return choice.get_value() if isinstance(choice, Choice) else choice


def describe(obj, depth=0):
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
    if type(obj).__module__.startswith("zohocrmsdk.") and hasattr(obj, "__dict__"):
        fields = {k.split("__", 1)[-1]: v for k, v in vars(obj).items() if not k.endswith("key_modified")}
        return type(obj).__name__ + describe(fields, depth + 1)
    return repr(obj)[:300]


def expect_object(response, what):
    check(response is not None, f"{what}: the SDK returned no APIResponse (it swallowed an SDKException; see sdk.log)")
    obj = response.get_object()
    check(obj is not None, f"{what}: HTTP {response.get_status_code()}, headers {dict(response.get_headers())}; "
                           "the SDK could not map the body (get_object() is None)")
    return obj


def expect_api_exception(response, what, code):
    obj = expect_object(response, what)
    check(isinstance(obj, bw.APIException),
          f"{what}: expected the SDK's APIException, got {describe(obj)} (HTTP {response.get_status_code()})")
    check(value(obj.get_status()) == "error", f"{what}: APIException status {describe(obj.get_status())}")
    got = value(obj.get_code())
    check(got == code, f"{what}: APIException code {got!r}, expected {code!r} ({describe(obj)})")
    message = value(obj.get_message())
    check(isinstance(message, str) and message, f"{what}: APIException without a message ({describe(obj)})")
    return obj


class Callbacks:
    """A loopback HTTP receiver for the job's callback."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with outer.lock:
                    outer.received.append((self.path, self.headers.get("Content-Type"), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bulk-write-callback"


def main():
    global PREFIX
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--mode", required=True, choices=["access", "refresh"])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--bulkwrite", default="bulkwrite", help="unused; accepted like the v2 scripts")
    args = parser.parse_args()
    PREFIX = f"python-v8[{args.mode}]"
    base = args.base
    os.makedirs(args.workdir, exist_ok=True)

    step("read bootstrap.json")
    with open(os.path.join(args.data_dir, "bootstrap.json")) as f:
        boot = json.load(f)
    org_id = boot["org_id"]
    ok(f"org {org_id}")

    step(f"initialize SDK ({args.mode} mode)")
    if args.mode == "access":
        token = OAuthToken(access_token=boot["access_token"])
    else:
        token = OAuthToken(client_id=boot["client_id"], client_secret=boot["client_secret"],
                           refresh_token=boot["refresh_token"])
    environment = DataCenter.Environment(base, base + "/oauth/v2/token", base)
    Initializer.initialize(
        environment=environment,
        token=token,
        store=FileStore(os.path.join(args.workdir, "sdk_tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False, update_api_domain=False),
        resource_path=args.workdir,
        logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(args.workdir, "sdk.log")),
    )
    ok(f"SDK {sdk_version()}")

    ops = BulkWriteOperations()
    callbacks = Callbacks()

    step("upload file (POST /crm/v8/upload)")
    csv_path = os.path.join(args.workdir, "Leads.csv")
    tag = f"{int(time.time() * 1000)}{os.getpid()}"  # unique e-mails: reruns against one server add again
    with open(csv_path, "w") as f:
        csv.writer(f, lineterminator="\n").writerows([
            ["Last_Name", "Company", "Email"],
            ["Boyle", "Acme", f"boyle{tag}@example.com"],
            ["Quist", "Globex", f"quist{tag}@example.com"],
            ["", "Initech", f"nameless{tag}@example.com"],
        ])
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
    check(value(obj.get_code()) == "FILE_UPLOAD_SUCCESS", f"upload: code {describe(obj.get_code())}")
    file_id = (obj.get_details() or {}).get("file_id")
    check(file_id is not None and str(file_id).isdigit(), f"upload: details.file_id {file_id!r}")
    file_id = str(file_id)
    ok(f"file_id {file_id} (HTTP {response.get_status_code()})")

    step("create bulk write job with a callback (POST /crm/bulk/v8/write)")
    request = bw.RequestWrapper()
    request.set_operation(Choice("insert"))
    request.set_character_encoding("UTF-8")
    callback = bw.CallBack()
    callback.set_url(callbacks.url)
    callback.set_method(Choice("post"))
    request.set_callback(callback)
    resource = bw.Resource()
    resource.set_type(Choice("data"))
    module = MinifiedModule()
    module.set_api_name("Leads")
    resource.set_module(module)
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
    job_id = (obj.get_details() or {}).get("id")
    check(job_id is not None and str(job_id).isdigit(), f"create job: details.id {job_id!r}")
    job_id = str(job_id)  # v8 takes the job id as a str (v2 took an int)
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
    check(str(job.get_id()) == job_id, f"job details id {job.get_id()!r}, expected {job_id}")
    resources = job.get_resource() or []
    check(len(resources) == 1, f"job resource {describe(resources)}")
    res_module = resources[0].get_module()
    check(isinstance(res_module, MinifiedModule) and res_module.get_api_name() == "Leads",
          f"resource module {describe(res_module)}, expected MinifiedModule api_name 'Leads'")
    check(value(resources[0].get_status()) == "COMPLETED", f"resource status {describe(resources[0].get_status())}")
    counts = resources[0].get_file()
    check(counts is not None, "job resource has no file counts")
    got = (counts.get_added_count(), counts.get_skipped_count(), counts.get_updated_count(), counts.get_total_count())
    check(got == (2, 1, 0, 3), f"file counts (added, skipped, updated, total) = {got}, expected (2, 1, 0, 3)")
    cb = job.get_callback()
    check(cb is not None and cb.get_url() == callbacks.url and value(cb.get_method()) == "post",
          f"job callback {describe(cb)}")
    download_url = job.get_result().get_download_url() if job.get_result() else None
    check(isinstance(download_url, str) and download_url.startswith(base + "/"),
          f"result.download_url {download_url!r} is not an absolute URL on {base}")
    ok(f"statuses {' -> '.join(seen)}; counts {got}")

    step("the callback arrives")
    deadline = time.time() + 60
    while True:
        with callbacks.lock:
            received = list(callbacks.received)
        if received:
            break
        check(time.time() < deadline, "no callback POST within 60 s")
        time.sleep(0.1)
    path, content_type, payload = received[0]
    check(path == "/bulk-write-callback", f"callback path {path!r}")
    check(str(job_id) in payload.decode("utf-8", "replace"), f"callback body does not name job {job_id}: {payload[:300]!r}")
    ok(f"POST {path} ({content_type})")

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
    check(rows and rows[0][-3:] == ["STATUS", "RECORD_ID", "ERRORS"], f"result header {rows[:1]}")
    check([r[3] for r in rows[1:]] == ["ADDED", "ADDED", "SKIPPED"], f"result statuses {rows[1:]}")
    check(rows[3][5] == "MANDATORY_NOT_FOUND-Last_Name", f"skipped row {rows[3]}")
    ok(f"{names[0]}: ADDED, ADDED, SKIPPED ({rows[3][5]})")

    step("error: create job with an unknown file_id")
    resource.set_file_id("111111000000999999")
    request.set_resource([resource])
    response = ops.create_bulk_write_job(request)
    expect_api_exception(response, "create job with unknown file_id", "FILE_NOT_SUPPORTED")
    ok(f"APIException FILE_NOT_SUPPORTED (HTTP {response.get_status_code()})")

    step("error: create job into an unknown module")
    resource.set_file_id(file_id)
    unknown = MinifiedModule()
    unknown.set_api_name("No_Such_Module")
    resource.set_module(unknown)
    request.set_resource([resource])
    response = ops.create_bulk_write_job(request)
    err = expect_api_exception(response, "create job into an unknown module", "MODULE_NOT_AVAILABLE")
    ok(f"APIException MODULE_NOT_AVAILABLE (HTTP {response.get_status_code()}): {value(err.get_message())}")

    step("error: job details of an unknown job id")
    response = ops.get_bulk_write_job_details("111111000000999999")
    expect_api_exception(response, "unknown job", "RESOURCE_NOT_FOUND")
    ok(f"APIException RESOURCE_NOT_FOUND (HTTP {response.get_status_code()})")

    print(f"{PREFIX}: all steps passed", flush=True)


def sdk_version():
    try:
        from importlib.metadata import version
        return version("zohocrmsdk8-0")
    except Exception:
        return "?"


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print(f"{PREFIX}: FAIL {STEP}: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as error:
        traceback.print_exc()
        print(f"{PREFIX}: FAIL {STEP}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
