// Tests of leads-sync.js against bulkwrite (node:test), each making Zoho do what it rarely does on demand.
//
//     bulkwrite serve --test-controls --data-dir bulkwrite-test &
//     npm ci && BULKWRITE_URL=http://127.0.0.1:8080 BULKWRITE_DATA_DIR=../../../bulkwrite-test npm test
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { after, afterEach, before, test } = require("node:test");

const SDK = "@zohocrm/nodejs-sdk-2.0";
const { InitializeBuilder } = require(`${SDK}/routes/initialize_builder`);
const { Initializer } = require(`${SDK}/routes/initializer`);
const { OAuthBuilder } = require(`${SDK}/models/authenticator/oauth_builder`);
const { FileStore } = require(`${SDK}/models/authenticator/store/file_store`);
const { UserSignature } = require(`${SDK}/routes/user_signature`);
const { DataCenter } = require(`${SDK}/routes/dc/data_center`);
const { LogBuilder } = require(`${SDK}/routes/logger/log_builder`);
const { Levels } = require(`${SDK}/routes/logger/logger`);
const { SDKConfigBuilder } = require(`${SDK}/routes/sdk_config_builder`);

const { LeadsImport, ZohoError } = require("./leads-sync");

const base = (process.env.BULKWRITE_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const boot = JSON.parse(
    fs.readFileSync(path.join(process.env.BULKWRITE_DATA_DIR || "bulkwrite-data", "bootstrap.json"), "utf8"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "zoho-sdk-"));

/** bulkwrite's test controls (/bulkwrite/v1/…), called with the org's own token. */
async function control(method, route, body) {
    const response = await fetch(base + route, {
        method,
        headers: { Authorization: `Zoho-oauthtoken ${boot.access_token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.status < 300, `${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
}

async function inbox(name, count = 1) {
    for (let i = 0; i < 300; i++) {
        const { deliveries } = await control("GET", `/bulkwrite/v1/inbox/${name}`);
        if (deliveries.length >= count) return deliveries;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return [];
}

const ROWS = [
    { Last_Name: "Boyle", Company: "Acme", Email: "boyle@example.com" },
    { Last_Name: "Quist", Company: "Globex", Email: "quist@example.com" },
    { Last_Name: "", Company: "Initech", Email: "nameless@example.com" },
];
let leads;

before(async () => {
    // The official SDK, initialised against the server as it would be against Zoho's data centre.
    // The builder's constructor returns a promise.
    await (await new InitializeBuilder())
        .user(new UserSignature(boot.user_email.toLowerCase()))
        .environment(DataCenter.setEnvironment(base, `${base}/oauth/v2/token`, base, "local"))
        .token(new OAuthBuilder().accessToken(boot.access_token).build())
        .store(new FileStore(path.join(work, "tokens.csv")))
        .SDKConfig(new SDKConfigBuilder().autoRefreshFields(false).pickListValidation(false).build())
        .resourcePath(work)
        .logger(new LogBuilder().level(Levels.INFO).filePath(path.join(work, "sdk.log")).build())
        .initialize();
    for (let i = 0; i < 100 && (await Initializer.getInitializer()) == null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    leads = new LeadsImport(boot.org_id);
});

// Every test leaves the server as it found it: no rules, the queue running, the real time, an empty org.
afterEach(async () => {
    await control("DELETE", "/bulkwrite/v1/faults");
    await control("POST", "/bulkwrite/v1/queue/resume");
    await control("POST", "/bulkwrite/v1/clock", { reset: true });
    await control("POST", `/bulkwrite/v1/orgs/${boot.org_id}/reset`);
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

test("an import rides out two 429 refusals", async () => {
    const { id } = await control("POST", "/bulkwrite/v1/faults",
        { method: "POST", path: "/crm/bulk/*/write", status: 429, code: "TOO_MANY_REQUESTS", times: 2 });
    const { status, counts } = await leads.wait(await leads.start(ROWS));
    assert.equal(status, "COMPLETED");
    assert.deepEqual([counts.added, counts.skipped], [2, 1]);
    const { faults } = await control("GET", "/bulkwrite/v1/faults");
    assert.equal(faults.find((rule) => rule.id === id).fired, 2);
});

test("an import gives up after its retries", async () => {
    await control("POST", "/bulkwrite/v1/faults", { method: "POST", path: "/crm/bulk/*/write", status: 500 });
    await assert.rejects(leads.start(ROWS), (error) =>
        error instanceof ZohoError && error.status === 500 && error.code === "INTERNAL_ERROR");
});

test("a job is seen part-way while the queue is stepped", async () => {
    await control("POST", "/bulkwrite/v1/queue/pause");
    const rows = Array.from({ length: 5000 }, (_, i) => ({ Last_Name: `Lead ${i}`, Company: "Bulk Co", Email: `lead${i}@bulk.example` }));
    const job = await leads.start(rows);
    assert.equal((await leads.status(job)).status, "ADDED");
    await control("POST", "/bulkwrite/v1/queue/step", { job_id: String(job) });
    const partway = await leads.status(job);
    assert.equal(partway.status, "IN PROGRESS");
    assert.ok(partway.counts.added > 0 && partway.counts.added < 5000, `added ${partway.counts.added}`);
    await control("POST", "/bulkwrite/v1/queue/resume");
    const done = await leads.wait(job);
    assert.deepEqual([done.status, done.counts.added], ["COMPLETED", 5000]);
});

test("the callback arrives in the built-in inbox", async () => {
    const name = `leads-node-${process.pid}`;
    const job = await leads.start(ROWS, `${base}/bulkwrite/v1/inbox/${name}`);
    await leads.wait(job);
    const deliveries = await inbox(name);
    assert.equal(deliveries.length, 1);
    assert.match(JSON.stringify(deliveries[0].body), new RegExp(String(job)));
});

test("the result link expires after seven days", async () => {
    const job = await leads.start(ROWS);
    await leads.wait(job);
    assert.ok((await leads.result(job)).length > 0);
    await control("POST", "/bulkwrite/v1/clock", { advance: "8d" });
    await assert.rejects(leads.result(job), (error) => error instanceof ZohoError && error.status === 404);
});

test("each test starts from an empty org", async () => {
    const response = await fetch(`${base}/crm/v2/Leads/search?email=boyle%40example.com`,
        { headers: { Authorization: `Zoho-oauthtoken ${boot.access_token}` } });
    assert.equal(response.status, 204);
});
