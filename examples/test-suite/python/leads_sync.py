"""The code under test: a small Leads import built on the official Zoho CRM Python SDK (`zohocrmsdk2-0`).

It knows nothing of bulkwrite. Pointed at Zoho, it runs unchanged; the tests in this folder point it at a
bulkwrite server started with `--test-controls` and make that server misbehave on purpose.
"""

import csv
import io
import os
import tempfile
import time
import zipfile

from zcrmsdk.src.com.zoho.crm.api import bulk_write as bw
from zcrmsdk.src.com.zoho.crm.api.bulk_write.bulk_write_operations import BulkWriteOperations, UploadFileHeader
from zcrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zcrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

# Zoho's codes worth another try: its API-credit and concurrency limits, and its own failures.
RETRYABLE = {"TOO_MANY_REQUESTS", "INTERNAL_ERROR"}
COLUMNS = ["Last_Name", "Company", "Email"]


class ZohoError(Exception):
    """A call Zoho refused: the HTTP status and Zoho's code and message."""

    def __init__(self, call, status, code, message):
        super().__init__(f"{call}: HTTP {status} {code}: {message}")
        self.call, self.status, self.code, self.message = call, status, code, message


def _value(choice):
    return choice.get_value() if isinstance(choice, Choice) else choice


class LeadsImport:
    """Uploads rows of Leads, starts an insert job, follows it and reads its result file."""

    def __init__(self, org_id, retries=3, backoff_seconds=0.05):
        self.org_id = org_id
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.ops = BulkWriteOperations()

    def _call(self, name, send):
        """Sends a call, retrying Zoho's retryable refusals with a doubling backoff."""
        for attempt in range(self.retries + 1):
            response = send()
            if response is None:
                raise ZohoError(name, None, "NO_RESPONSE", "the SDK gave no response (see its log)")
            status = response.get_status_code()
            obj = response.get_object()
            if status < 400:
                return obj
            # The SDK maps most error bodies to APIException; a 429 on upload or create comes back as a
            # SuccessResponse whose status is "error", so read the code from whichever it is.
            code = _value(obj.get_code()) if obj is not None else None
            message = _value(obj.get_message()) if obj is not None else None
            if code in RETRYABLE and attempt < self.retries:
                time.sleep(self.backoff_seconds * 2**attempt)
                continue
            raise ZohoError(name, status, code, message)

    def start(self, rows, callback_url=None):
        """Uploads `rows` (dicts keyed by COLUMNS) and starts an insert job; returns the job id."""
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        with tempfile.TemporaryDirectory() as scratch:
            path = os.path.join(scratch, "Leads.zip")
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("Leads.csv", text.getvalue())

            def upload():
                body = bw.FileBodyWrapper()
                body.set_file(StreamWrapper(file_path=path))
                headers = HeaderMap()
                headers.add(UploadFileHeader.feature, "bulk-write")
                headers.add(UploadFileHeader.x_crm_org, self.org_id)
                return self.ops.upload_file(body, headers)

            uploaded = self._call("upload_file", upload)
        file_id = str(uploaded.get_details()["file_id"])

        request = bw.RequestWrapper()
        request.set_operation(Choice("insert"))
        resource = bw.Resource()
        resource.set_type(Choice("data"))
        resource.set_module("Leads")
        resource.set_file_id(file_id)
        mappings = []
        for index, name in enumerate(COLUMNS):
            mapping = bw.FieldMapping()
            mapping.set_api_name(name)
            mapping.set_index(index)
            mappings.append(mapping)
        resource.set_field_mappings(mappings)
        request.set_resource([resource])
        if callback_url:
            callback = bw.CallBack()
            callback.set_url(callback_url)
            callback.set_method(Choice("post"))
            request.set_callback(callback)
        created = self._call("create_bulk_write_job", lambda: self.ops.create_bulk_write_job(request))
        return int(created.get_details()["id"])

    def status(self, job_id):
        """The job's status (`ADDED`, `IN PROGRESS`, `COMPLETED`, `FAILED`) and its counts so far."""
        job = self._call("get_bulk_write_job_details", lambda: self.ops.get_bulk_write_job_details(job_id))
        counts = {"added": 0, "updated": 0, "skipped": 0, "total": 0}
        for resource in job.get_resource() or []:
            file = resource.get_file()
            if file is not None:
                counts["added"] += file.get_added_count() or 0
                counts["updated"] += file.get_updated_count() or 0
                counts["skipped"] += file.get_skipped_count() or 0
                counts["total"] += file.get_total_count() or 0
        return _value(job.get_status()), counts, job

    def wait(self, job_id, timeout_seconds=60):
        """Polls the job until it ends; returns its final status and counts."""
        deadline = time.time() + timeout_seconds
        while True:
            status, counts, job = self.status(job_id)
            if status in ("COMPLETED", "FAILED"):
                return status, counts, job
            if time.time() > deadline:
                raise TimeoutError(f"job {job_id} is still {status} after {timeout_seconds} s")
            time.sleep(0.1)

    def result_rows(self, job_id):
        """The job's result file as dicts (the input's columns plus STATUS, RECORD_ID and ERRORS)."""
        _, _, job = self.status(job_id)
        url = job.get_result().get_download_url()
        wrapper = self._call("download_bulk_write_result", lambda: self.ops.download_bulk_write_result(url))
        data = b"".join(wrapper.get_file().get_stream())
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))
