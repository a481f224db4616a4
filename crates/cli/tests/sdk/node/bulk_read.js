#!/usr/bin/env node
// Drives the unmodified official Zoho CRM Node SDK's Bulk Read (npm `@zohocrm/nodejs-sdk-2.0`) against a bulkwrite server.
//
// Run by crates/cli/tests/e2e/sdk.rs against a server it starts; by hand (after `npm ci` here):
//
//     node bulk_read.js --base http://127.0.0.1:8080 --data-dir bulkwrite-data --mode access --workdir /tmp/x
//
// Writes three leads through the SDK's records API, exports the two matching a criteria with
// createBulkReadJob, polls getBulkReadJobDetails, downloads with downloadResult, and checks Zoho's
// errors for an unknown module and an unknown job. Modes as in bulk_write.js.
"use strict";

const common = require("./bulk_write.js");

const { SDK, sdk, step, ok, check, value, describe, detail, expectObject, expectAPIException, unzip, parseCsv } = common;

const MARKER = "@marker.example";

let br;
try {
    const at = (name) => require(`${SDK}/core/com/zoho/crm/api/bulk_read/${name}`);
    br = {
        BulkReadOperations: at("bulk_read_operations").BulkReadOperations,
        RequestWrapper: at("request_wrapper").RequestWrapper,
        Query: at("query").Query,
        Criteria: at("criteria").Criteria,
        ActionWrapper: at("action_wrapper").ActionWrapper,
        SuccessResponse: at("success_response").SuccessResponse,
        ResponseWrapper: at("response_wrapper").ResponseWrapper,
        JobDetail: at("job_detail").JobDetail,
        FileBodyWrapper: at("file_body_wrapper").FileBodyWrapper,
        APIException: at("api_exception").APIException,
    };
} catch (error) {
    console.error(`node: SDK NOT INSTALLED (${error.message.split("\n")[0]})`);
    process.exit(3);
}

async function writeLeads() {
    const { rec } = sdk;
    step(`records: createRecords (three leads, two at ${MARKER})`);
    const leads = [["Reader", `reader${MARKER}`], ["Skipped", "skip@elsewhere.example"], ["Exported", `exported${MARKER}`]]
        .map(([last, email]) => {
            const lead = new rec.Record();
            lead.addKeyValue("Last_Name", last);
            lead.addKeyValue("Company", "Read Ltd");
            lead.addKeyValue("Email", email);
            return lead;
        });
    const wrapper = new rec.BodyWrapper();
    wrapper.setData(leads);
    const response = await new rec.RecordOperations().createRecords("Leads", wrapper);
    const obj = expectObject(response, "createRecords");
    check(obj instanceof rec.ActionWrapper, `createRecords: expected ActionWrapper, got ${describe(obj)}`);
    const actions = obj.getData() || [];
    check(actions.length === 3 && actions.every((a) => a instanceof rec.SuccessResponse), `createRecords ${describe(actions)}`);
    ok("three leads");
}

async function main() {
    const args = common.parseArgs(process.argv.slice(2));
    common.setPrefix(`node-read[${args.mode}]`);
    require("fs").mkdirSync(args.workdir, { recursive: true });
    await common.initialize(args);
    await writeLeads();
    const ops = new br.BulkReadOperations();

    step("create bulk read job (POST /crm/bulk/v2/read)");
    const request = new br.RequestWrapper();
    const query = new br.Query();
    query.setModule("Leads");
    query.setFields(["Last_Name", "Email", "Company"]);
    query.setPage(1);
    const criteria = new br.Criteria();
    criteria.setAPIName("Email");
    criteria.setComparator(new sdk.Choice("ends_with"));
    criteria.setValue(MARKER);
    query.setCriteria(criteria);
    request.setQuery(query);
    request.setFileType(new sdk.Choice("csv"));
    let response = await ops.createBulkReadJob(request);
    let obj = expectObject(response, "create read job");
    check(obj instanceof br.ActionWrapper, `create read job: expected ActionWrapper, got ${describe(obj)}`);
    const actions = obj.getData() || [];
    check(actions.length === 1 && actions[0] instanceof br.SuccessResponse, `create read job: ${describe(actions)}`);
    check(value(actions[0].getCode()) === "ADDED_SUCCESSFULLY", `code ${describe(actions[0].getCode())}`);
    const jobId = BigInt(String(detail(actions[0].getDetails(), "id")));
    ok(`job ${jobId} (HTTP ${response.getStatusCode()})`);

    step("poll getBulkReadJobDetails until COMPLETED");
    const deadline = Date.now() + 120000;
    const seen = [];
    let job;
    for (;;) {
        response = await ops.getBulkReadJobDetails(jobId);
        obj = expectObject(response, "read job details");
        check(obj instanceof br.ResponseWrapper, `details: expected ResponseWrapper, got ${describe(obj)}`);
        job = (obj.getData() || [])[0];
        check(job instanceof br.JobDetail, `details: expected a JobDetail, got ${describe(obj)}`);
        const state = value(job.getState());
        if (seen[seen.length - 1] !== state) seen.push(state);
        check(["ADDED", "QUEUED", "IN PROGRESS", "COMPLETED"].includes(state), `state ${state} (${describe(job)})`);
        if (state === "COMPLETED") break;
        check(Date.now() < deadline, `read job ${jobId} not COMPLETED after 120 s; states ${seen}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    check(BigInt(job.getId()) === jobId, `details id ${describe(job.getId())}`);
    check(job.getQuery().getModule() === "Leads", `query.module ${describe(job.getQuery())}`);
    const result = job.getResult();
    const got = [result.getPage(), result.getCount(), result.getPerPage(), result.getMoreRecords()].map(String).join(",");
    check(got === "1,2,200000,false", `result (page, count, per_page, more_records) = ${got}`);
    ok(`states ${seen.join(" -> ")}; result ${got}`);

    step("downloadResult");
    response = await ops.downloadResult(jobId);
    obj = expectObject(response, "download");
    check(obj instanceof br.FileBodyWrapper, `download: expected FileBodyWrapper, got ${describe(obj)}`);
    const stream = obj.getFile();
    check(stream.getName() === `${jobId}.zip`, `download: file name ${stream.getName()}`);
    const entries = unzip(Buffer.from(stream.getStream()));
    const names = entries.map((e) => e.name);
    check(names.length === 1 && names[0] === `${jobId}.csv`, `zip holds ${names}`);
    const rows = parseCsv(entries[0].data.toString("utf8"));
    check(rows[0].join(",") === "id,Last_Name,Email,Company", `header ${rows[0]}`);
    const exported = rows.slice(1).filter((r) => r.length > 1);
    check(exported.map((r) => r[1]).join(",") === "Reader,Exported", `rows ${JSON.stringify(exported)}`);
    check(exported.every((r) => /^\d+$/.test(r[0])), `ids ${JSON.stringify(exported)}`);
    ok(`${names[0]}: ${exported.length} records`);

    step("error: an unknown module");
    query.setModule("Spaceships");
    response = await ops.createBulkReadJob(request);
    const err = expectAPIException(response, br.APIException, "unknown module", "MODULE_NOT_AVAILABLE");
    ok(`APIException ${value(err.getCode())} (HTTP ${response.getStatusCode()})`);

    step("error: details of an unknown job");
    response = await ops.getBulkReadJobDetails(111111000000999999n);
    expectAPIException(response, br.APIException, "unknown job", "RESOURCE_NOT_FOUND");
    ok(`APIException RESOURCE_NOT_FOUND (HTTP ${response.getStatusCode()})`);

    console.log(`${common.prefix()}: all steps passed`);
}

common.run(main);
