#!/usr/bin/env node
// Drives the unmodified official Zoho CRM Node v8 SDK (npm `@zohocrm/nodejs-sdk-8.0`, an ES module)
// against a bulkwrite server.
//
// Run by crates/cli/tests/e2e/sdk.rs against a server it starts (callbacks to 127.0.0.1 allowed); by hand:
//
//     node bulk_write_v8.mjs --base http://127.0.0.1:8080 --data-dir bulkwrite-data --mode access --workdir /tmp/x
//
// Steps: upload (POST /crm/v8/upload) -> create with a callback (POST /crm/bulk/v8/write) -> poll details
// (GET /crm/bulk/v8/write/{id}) -> the callback arrives -> download -> the SDK's APIException for refused
// requests. Modes: `access` (bootstrap access token) or `refresh` (the SDK calls POST /oauth/v2/token first).
import fs from "fs";
import http from "http";
import path from "path";
import zlib from "zlib";
import { createRequire } from "module";

let STEP = "start";
let PREFIX = "node-v8";
const step = (name) => { STEP = name; };
const ok = (detail) => console.log(`${PREFIX}: ok   ${STEP}${detail ? ": " + detail : ""}`);
class CheckFailed extends Error {}
function check(condition, message) {
    if (!condition) throw new CheckFailed(message);
}

const SDK = "@zohocrm/nodejs-sdk-8.0";
let Z;
try {
    Z = await import(SDK);
} catch (error) {
    console.error(`${PREFIX}: SDK NOT INSTALLED (${error.message}); run \`bash .ci/run\` or \`npm ci --prefix crates/cli/tests/sdk/node\``);
    process.exit(3);
}
const sdkVersion = createRequire(import.meta.url)(`${SDK}/package.json`).version;
const BW = Z.BulkWrite;

const value = (choice) => (choice instanceof Z.Choice ? choice.getValue() : choice);
const describe = (obj) => {
    try {
        return JSON.stringify(obj, (k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Map ? Object.fromEntries(v) : v)).slice(0, 600);
    } catch (e) {
        return String(obj);
    }
};

async function expectObject(response, what) {
    check(response != null, `${what}: the SDK returned no APIResponse`);
    // The v8 SDK's downloader hands back a Promise of the FileBodyWrapper.
    const obj = await response.getObject();
    check(obj != null, `${what}: HTTP ${response.getStatusCode()}; the SDK could not map the body (getObject() is null)`);
    return obj;
}

async function expectApiException(response, what, code) {
    const obj = await expectObject(response, what);
    check(obj instanceof BW.APIException, `${what}: expected the SDK's APIException, got ${describe(obj)} (HTTP ${response.getStatusCode()})`);
    check(value(obj.getStatus()) === "error", `${what}: APIException status ${describe(obj.getStatus())}`);
    check(value(obj.getCode()) === code, `${what}: APIException code ${describe(obj.getCode())}, expected ${code}`);
    const message = value(obj.getMessage());
    check(typeof message === "string" && message.length > 0, `${what}: APIException without a message`);
    return obj;
}

// A minimal stored (method 0) zip holding one file.
function crc32(buf) {
    let crc = ~0;
    for (const b of buf) {
        crc ^= b;
        for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
    }
    return ~crc >>> 0;
}
function storedZip(name, data) {
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    const end = Buffer.alloc(22);
    const cdOffset = 30 + n.length + data.length;
    end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
    end.writeUInt32LE(46 + n.length, 12); end.writeUInt32LE(cdOffset, 16);
    return Buffer.concat([local, n, data, central, n, end]);
}
// Reads the first entry of a zip (stored or deflated).
function firstEntry(zip) {
    check(zip.readUInt32LE(0) === 0x04034b50, "result is not a zip");
    const method = zip.readUInt16LE(8);
    let size = zip.readUInt32LE(18);
    const nameLen = zip.readUInt16LE(26);
    const extraLen = zip.readUInt16LE(28);
    const start = 30 + nameLen + extraLen;
    if (size === 0) {
        const cd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
        size = zip.readUInt32LE(cd + 20);
    }
    const raw = zip.subarray(start, start + size);
    return { name: zip.subarray(30, 30 + nameLen).toString(), text: (method === 8 ? zlib.inflateRawSync(raw) : raw).toString("utf8") };
}

function parseArgs() {
    const args = {};
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];
    for (const key of ["base", "data-dir", "mode", "workdir"]) {
        if (!args[key]) throw new CheckFailed(`missing --${key}`);
    }
    check(["access", "refresh"].includes(args.mode), `--mode ${args.mode}: access or refresh`);
    return args;
}

async function main() {
    const args = parseArgs();
    PREFIX = `node-v8[${args.mode}]`;
    const base = args.base;
    fs.mkdirSync(args.workdir, { recursive: true });

    step("read bootstrap.json");
    const boot = JSON.parse(fs.readFileSync(path.join(args["data-dir"], "bootstrap.json"), "utf8"));
    const orgId = boot.org_id;
    ok(`org ${orgId}`);

    step(`initialize SDK (${args.mode} mode)`);
    const environment = Z.DataCenter.setEnvironment(base, base + "/oauth/v2/token", base);
    const token = args.mode === "access"
        ? new Z.OAuthBuilder().accessToken(boot.access_token).build()
        : new Z.OAuthBuilder().clientId(boot.client_id).clientSecret(boot.client_secret).refreshToken(boot.refresh_token).build();
    const sdkConfig = new Z.SDKConfigBuilder().autoRefreshFields(false).pickListValidation(false).build();
    await (await new Z.InitializeBuilder())
        .environment(environment)
        .token(token)
        .store(new Z.FileStore(path.join(args.workdir, "sdk_tokens.csv")))
        .SDKConfig(sdkConfig)
        .resourcePath(args.workdir)
        .logger(new Z.LogBuilder().level(Z.Levels.INFO).filePath(path.join(args.workdir, "sdk.log")).build())
        .initialize();
    ok(`SDK ${sdkVersion}`);

    const received = [];
    const receiver = http.createServer((req, res) => {
        const chunks = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
            received.push({ path: req.url, method: req.method, type: req.headers["content-type"], body: Buffer.concat(chunks).toString() });
            res.writeHead(200, { "content-length": "0" });
            res.end();
        });
    });
    await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const callbackUrl = `http://127.0.0.1:${receiver.address().port}/bulk-write-callback`;

    const ops = new BW.BulkWriteOperations();

    step("upload file (POST /crm/v8/upload)");
    const tag = `${Date.now()}${process.pid}`;
    const csv = `Last_Name,Company,Email\nBoyle,Acme,boyle${tag}@example.com\nQuist,Globex,quist${tag}@example.com\n,Initech,nameless${tag}@example.com\n`;
    const zipPath = path.join(args.workdir, "Leads.zip");
    fs.writeFileSync(zipPath, storedZip("Leads.csv", Buffer.from(csv)));
    const body = new BW.FileBodyWrapper();
    body.setFile(new Z.StreamWrapper(null, null, zipPath));
    const headers = new Z.HeaderMap();
    await headers.add(BW.UploadFileHeader.FEATURE, "bulk-write");
    await headers.add(BW.UploadFileHeader.X_CRM_ORG, orgId);
    let response = await ops.uploadFile(body, headers);
    let obj = await expectObject(response, "upload");
    check(obj instanceof BW.SuccessResponse, `upload: expected SuccessResponse, got ${describe(obj)}`);
    check(value(obj.getCode()) === "FILE_UPLOAD_SUCCESS", `upload: code ${describe(obj.getCode())}`);
    const details = obj.getDetails();
    const fileId = details instanceof Map ? details.get("file_id") : details?.file_id;
    check(fileId != null && /^\d+$/.test(String(fileId)), `upload: details.file_id ${describe(fileId)}`);
    ok(`file_id ${fileId} (HTTP ${response.getStatusCode()})`);

    step("create bulk write job with a callback (POST /crm/bulk/v8/write)");
    const request = new BW.RequestWrapper();
    request.setOperation(new Z.Choice("insert"));
    request.setCharacterEncoding("UTF-8");
    const callback = new BW.CallBack();
    callback.setUrl(callbackUrl);
    callback.setMethod(new Z.Choice("post"));
    request.setCallback(callback);
    const resource = new BW.Resource();
    resource.setType(new Z.Choice("data"));
    const module = new Z.Modules.MinifiedModule();
    module.setAPIName("Leads");
    resource.setModule(module);
    resource.setFileId(String(fileId));
    resource.setIgnoreEmpty(true);
    resource.setFieldMappings(["Last_Name", "Company", "Email"].map((name, index) => {
        const mapping = new BW.FieldMapping();
        mapping.setAPIName(name);
        mapping.setIndex(index);
        return mapping;
    }));
    request.setResource([resource]);
    response = await ops.createBulkWriteJob(request);
    obj = await expectObject(response, "create job");
    check(obj instanceof BW.SuccessResponse, `create job: expected SuccessResponse, got ${describe(obj)}`);
    check(value(obj.getCode()) === "SUCCESS", `create job: code ${describe(obj.getCode())}`);
    const created = obj.getDetails();
    const jobId = String(created instanceof Map ? created.get("id") : created?.id);
    check(/^\d+$/.test(jobId), `create job: details.id ${jobId}`);
    ok(`job ${jobId} (HTTP ${response.getStatusCode()})`);

    step("poll getBulkWriteJobDetails until COMPLETED");
    let deadline = Date.now() + 120000;
    const seen = [];
    let job;
    for (;;) {
        response = await ops.getBulkWriteJobDetails(jobId); // v8 takes a String (v2 took a BigInt)
        job = await expectObject(response, "job details");
        check(job instanceof BW.BulkWriteResponse, `job details: expected BulkWriteResponse, got ${describe(job)}`);
        const status = value(job.getStatus());
        if (seen[seen.length - 1] !== status) seen.push(status);
        check(["ADDED", "IN PROGRESS", "COMPLETED"].includes(status), `job status ${status}`);
        if (status === "COMPLETED") break;
        check(Date.now() < deadline, `job ${jobId} not COMPLETED after 120 s; statuses ${seen}`);
        await new Promise((r) => setTimeout(r, 200));
    }
    check(String(job.getId()) === jobId, `job details id ${job.getId()}`);
    const resources = job.getResource() || [];
    check(resources.length === 1, `job resource ${describe(resources)}`);
    const resModule = resources[0].getModule();
    check(resModule instanceof Z.Modules.MinifiedModule && resModule.getAPIName() === "Leads", `resource module ${describe(resModule)}`);
    check(value(resources[0].getStatus()) === "COMPLETED", `resource status ${describe(resources[0].getStatus())}`);
    const counts = resources[0].getFile();
    const got = [counts.getAddedCount(), counts.getSkippedCount(), counts.getUpdatedCount(), counts.getTotalCount()].map(Number);
    check(got.join() === "2,1,0,3", `file counts (added, skipped, updated, total) = ${got}, expected 2,1,0,3`);
    const cb = job.getCallback();
    check(cb != null && cb.getUrl() === callbackUrl && value(cb.getMethod()) === "post", `job callback ${describe(cb)}`);
    const downloadUrl = job.getResult()?.getDownloadUrl();
    check(typeof downloadUrl === "string" && downloadUrl.startsWith(base + "/"), `result.download_url ${downloadUrl}`);
    ok(`statuses ${seen.join(" -> ")}; counts ${got}`);

    step("the callback arrives");
    deadline = Date.now() + 60000;
    while (received.length === 0) {
        check(Date.now() < deadline, "no callback POST within 60 s");
        await new Promise((r) => setTimeout(r, 100));
    }
    check(received[0].method === "POST" && received[0].path === "/bulk-write-callback", `callback ${describe(received[0])}`);
    check(received[0].body.includes(jobId), `callback body does not name job ${jobId}: ${received[0].body.slice(0, 300)}`);
    ok(`POST ${received[0].path} (${received[0].type})`);

    step("download result through the SDK");
    response = await ops.downloadBulkWriteResult(downloadUrl);
    obj = await expectObject(response, "download");
    check(obj instanceof BW.FileBodyWrapper, `download: expected FileBodyWrapper, got ${obj?.constructor?.name} ${describe(obj)} (HTTP ${response.getStatusCode()}, headers ${describe(response.getHeaders())})`);
    const stream = obj.getFile();
    check(stream.getName() === `${jobId}.zip`, `download: file name ${stream.getName()}, expected ${jobId}.zip`);
    const chunks = [];
    const data = stream.getStream();
    if (Buffer.isBuffer(data)) chunks.push(data);
    else for await (const chunk of data) chunks.push(Buffer.from(chunk));
    const entry = firstEntry(Buffer.concat(chunks));
    const rows = entry.text.replace(/^\ufeff/, "").trim().split(/\r?\n/).map((line) => line.split(","));
    check(rows[0].slice(-3).join() === "STATUS,RECORD_ID,ERRORS", `result header ${rows[0]}`);
    check(rows.slice(1).map((r) => r[3]).join() === "ADDED,ADDED,SKIPPED", `result rows ${describe(rows)}`);
    check(rows[3][5] === "MANDATORY_NOT_FOUND-Last_Name", `skipped row ${rows[3]}`);
    ok(`${entry.name}: ADDED, ADDED, SKIPPED (${rows[3][5]})`);

    step("error: create job with an unknown file_id");
    resource.setFileId("111111000000999999");
    request.setResource([resource]);
    response = await ops.createBulkWriteJob(request);
    await expectApiException(response, "create job with unknown file_id", "FILE_NOT_SUPPORTED");
    ok(`APIException FILE_NOT_SUPPORTED (HTTP ${response.getStatusCode()})`);

    step("error: create job into an unknown module");
    resource.setFileId(String(fileId));
    const unknown = new Z.Modules.MinifiedModule();
    unknown.setAPIName("No_Such_Module");
    resource.setModule(unknown);
    request.setResource([resource]);
    response = await ops.createBulkWriteJob(request);
    const err = await expectApiException(response, "create job into an unknown module", "MODULE_NOT_AVAILABLE");
    ok(`APIException MODULE_NOT_AVAILABLE (HTTP ${response.getStatusCode()}): ${value(err.getMessage())}`);

    step("error: job details of an unknown job id");
    response = await ops.getBulkWriteJobDetails("111111000000999999");
    await expectApiException(response, "unknown job", "RESOURCE_NOT_FOUND");
    ok(`APIException RESOURCE_NOT_FOUND (HTTP ${response.getStatusCode()})`);

    receiver.close();
    console.log(`${PREFIX}: all steps passed`);
}

try {
    await main();
    process.exit(0);
} catch (error) {
    if (!(error instanceof CheckFailed)) console.error(error);
    const detail = error instanceof CheckFailed ? error.message : `${error?.constructor?.name}: ${error?.message ?? describe(error)}`;
    console.error(`${PREFIX}: FAIL ${STEP}: ${detail}`);
    process.exit(1);
}
