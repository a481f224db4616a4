"""Tests of leads_sync.LeadsImport against bulkwrite, each making Zoho do what it rarely does on demand."""

import uuid

import pytest
import requests

from leads_sync import ZohoError

ROWS = [
    {"Last_Name": "Boyle", "Company": "Acme", "Email": "boyle@example.com"},
    {"Last_Name": "Quist", "Company": "Globex", "Email": "quist@example.com"},
    {"Last_Name": "", "Company": "Initech", "Email": "nameless@example.com"},
]


def many_rows(count):
    return [{"Last_Name": f"Lead {i}", "Company": "Bulk Co", "Email": f"lead{i}@bulk.example"} for i in range(count)]


def test_an_import_rides_out_two_refusals(controls, leads):
    # Zoho answers 429 when the org's API credits run out; the import retries.
    rule = controls.add_fault(method="POST", path="/crm/bulk/*/write", status=429, code="TOO_MANY_REQUESTS", times=2)
    job = leads.start(ROWS)
    status, counts, _ = leads.wait(job)
    assert status == "COMPLETED"
    assert (counts["added"], counts["skipped"]) == (2, 1)
    assert controls.fault(rule)["fired"] == 2


def test_an_import_gives_up_after_its_retries(controls, leads):
    controls.add_fault(method="POST", path="/crm/bulk/*/write", status=500, code="INTERNAL_ERROR")
    with pytest.raises(ZohoError) as refused:
        leads.start(ROWS)
    assert (refused.value.status, refused.value.code) == (500, "INTERNAL_ERROR")


def test_a_job_is_seen_part_way(controls, leads):
    # Paused, the queue runs nothing until stepped: one step applies one chunk (2,000 rows by default).
    controls.pause_queue()
    job = leads.start(many_rows(5000))
    assert leads.status(job)[0] == "ADDED"
    controls.step(job)
    status, counts, _ = leads.status(job)
    assert status == "IN PROGRESS"
    assert 0 < counts["added"] < 5000
    controls.resume_queue()
    status, counts, _ = leads.wait(job)
    assert (status, counts["added"]) == ("COMPLETED", 5000)


def test_the_callback_arrives(controls, leads):
    inbox = f"leads-{uuid.uuid4().hex[:8]}"
    job = leads.start(ROWS, callback_url=controls.inbox_url(inbox))
    leads.wait(job)
    deliveries = controls.inbox(inbox)
    assert len(deliveries) == 1
    assert str(job) in str(deliveries[0]["body"])


def test_the_result_link_expires_after_seven_days(controls, leads):
    job = leads.start(ROWS)
    leads.wait(job)
    assert [row["STATUS"] for row in leads.result_rows(job)] == ["ADDED", "ADDED", "SKIPPED"]
    controls.advance_clock("8d")
    with pytest.raises(ZohoError) as expired:
        leads.result_rows(job)
    assert expired.value.status == 404


def test_each_test_starts_from_an_empty_org(server, controls, leads):
    # The `controls` fixture resets the org after every test, so no lead of another test is here.
    search = requests.get(
        f"{server['base']}/crm/v2/Leads/search",
        params={"email": "boyle@example.com"},
        headers={"Authorization": f"Zoho-oauthtoken {server['token']}"},
        timeout=30,
    )
    assert search.status_code == 204


def test_a_snapshot_puts_the_org_back(server, controls, leads):
    leads.wait(leads.start(ROWS[:1]))
    controls.snapshot("one-lead")
    leads.wait(leads.start(ROWS[1:2]))
    controls.restore("one-lead")
    found = lambda email: requests.get(  # noqa: E731
        f"{server['base']}/crm/v2/Leads/search",
        params={"email": email},
        headers={"Authorization": f"Zoho-oauthtoken {server['token']}"},
        timeout=30,
    ).status_code
    assert (found("boyle@example.com"), found("quist@example.com")) == (200, 204)
