#!/usr/bin/env python3
"""Shows what the unmodified official Zoho CRM Python SDK (PyPI `zohocrmsdk2-0`) does when a bulkwrite server
metering API credits like Zoho (`--api-credits free`: 5,000 credits a day) runs out.

Run by crates/cli/tests/e2e/sdk.rs against a server it starts with BULKWRITE_API_CREDITS=free; by hand:

    bulkwrite serve --api-credits free &
    python3 credits.py --base http://127.0.0.1:8080 --data-dir bulkwrite-data --mode access --workdir /tmp/x

Each `create_bulk_write_job` costs 500 credits, admitted or refused by its handler (this one names a file that
does not exist, so the SDK gets an APIException FILE_NOT_SUPPORTED back). From the 5th call (2,500 credits used)
the answers carry X-API-CREDITS-REMAINING; the 11th is refused: HTTP 429, which the SDK does not raise but
returns as an APIResponse (status code 429) whose object is the bulk write `SuccessResponse` with status
`error`, code `TOO_MANY_REQUESTS`, Zoho's message and empty details (the SDK's bulk write APIException does
not list that code); `get_records` raises `SDKException` (code `API_EXCEPTION`, the 429 body as details): its field-metadata
call is refused first.
"""

import argparse
import os
import sys
import traceback

import bulk_write as common
from bulk_write import check, describe, expect_api_exception, ok, step, value, CheckFailed  # noqa: F401

try:
    from zcrmsdk.src.com.zoho.crm.api import bulk_write as bw
    from zcrmsdk.src.com.zoho.crm.api import record as rec
    from zcrmsdk.src.com.zoho.crm.api.bulk_write.bulk_write_operations import BulkWriteOperations
    from zcrmsdk.src.com.zoho.crm.api.exception import SDKException
    from zcrmsdk.src.com.zoho.crm.api.util import Choice
except ImportError as error:  # the test reads this line
    print(f"python: SDK NOT INSTALLED ({error})", file=sys.stderr, flush=True)
    sys.exit(3)

CREDITS_MESSAGE = "Number of API requests for the 24 hour period is exceeded"


def header(response, name):
    """A response header by name, any case (the SDK keeps requests' case-insensitive dict)."""
    headers = response.get_headers() or {}
    for key, found in headers.items():
        if key.lower() == name.lower():
            return found
    return None


def job_request():
    request = bw.RequestWrapper()
    request.set_operation(Choice("insert"))
    resource = bw.Resource()
    resource.set_type(Choice("data"))
    resource.set_module("Leads")
    resource.set_file_id("5725767000000999999")
    request.set_resource([resource])
    return request


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--mode", required=True, choices=["access", "refresh", "grant"])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--bulkwrite", default="bulkwrite")
    args = parser.parse_args()
    common.PREFIX = f"python-credits[{args.mode}]"
    os.makedirs(args.workdir, exist_ok=True)
    common.initialize(args)
    ops = BulkWriteOperations()

    for call in range(1, 11):
        step(f"create_bulk_write_job #{call}: admitted (500 credits), refused by its handler")
        response = ops.create_bulk_write_job(job_request())
        check(response.get_status_code() == 400, f"call {call}: HTTP {response.get_status_code()}, expected 400")
        expect_api_exception(response, bw.APIException, f"call {call}", "FILE_NOT_SUPPORTED")
        remaining = header(response, "X-API-CREDITS-REMAINING")
        expected = str(5000 - 500 * call) if call >= 5 else None
        check(remaining == expected, f"call {call}: X-API-CREDITS-REMAINING {remaining!r}, expected {expected!r}")
        ok(f"HTTP 400, X-API-CREDITS-REMAINING {remaining}")

    step("create_bulk_write_job #11: the credits ran out")
    response = ops.create_bulk_write_job(job_request())
    check(response is not None, "the SDK raised nothing and returned no APIResponse")
    check(response.get_status_code() == 429, f"HTTP {response.get_status_code()}, expected 429")
    obj = response.get_object()
    # The SDK picks the class of an ActionResponse by how well the body's keys and values fit each
    # class's members; TOO_MANY_REQUESTS is not among the codes its bulk write APIException lists,
    # so the 429 body fits SuccessResponse best: an object of that class with status "error".
    check(isinstance(obj, bw.SuccessResponse), f"expected the SDK's bulk write SuccessResponse, got {describe(obj)}")
    check(value(obj.get_status()) == "error", f"status {describe(obj.get_status())}")
    check(value(obj.get_code()) == "TOO_MANY_REQUESTS", f"code {describe(obj.get_code())}")
    check(value(obj.get_message()) == CREDITS_MESSAGE, f"message {describe(obj.get_message())}")
    check(obj.get_details() in ({}, None), f"details {describe(obj.get_details())}")
    remaining = header(response, "X-API-CREDITS-REMAINING")
    check(remaining == "0", f"X-API-CREDITS-REMAINING {remaining!r}")
    ok(f"HTTP 429, {type(obj).__name__}(status={value(obj.get_status())!r}, code={value(obj.get_code())!r}, "
       f"message={value(obj.get_message())!r}, details={obj.get_details()!r}); X-API-CREDITS-REMAINING 0")

    step("records: get_records once the credits ran out")
    # The records API first reads the module's field metadata (GET /crm/v2/settings/fields), which
    # is refused too: the SDK raises SDKException API_EXCEPTION with the 429 body as its details.
    try:
        response = rec.RecordOperations().get_records("Leads")
        raise CheckFailed(f"no SDKException; HTTP {response.get_status_code() if response else None}, "
                          f"object {describe(response.get_object() if response else None)}")
    except SDKException as error:
        check(error.code == "API_EXCEPTION", f"SDKException code {error.code!r}")
        details = error.details or {}
        check(details.get("code") == "TOO_MANY_REQUESTS", f"SDKException details {details!r}")
        check(details.get("message") == CREDITS_MESSAGE, f"SDKException details {details!r}")
        ok(f"SDKException(code={error.code!r}, details={details!r})")

    print(f"{common.PREFIX}: all steps passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print(f"{common.PREFIX}: FAIL {common.STEP}: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as error:  # an SDKException or anything else the SDK raised
        traceback.print_exc()
        print(f"{common.PREFIX}: FAIL {common.STEP}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
