#!/usr/bin/env node
// Drives the unmodified official Zoho CRM Node SDK (npm `@zohocrm/nodejs-sdk-2.0`) against a bulkwrite server.
//
// Run by crates/cli/tests/e2e/sdk.rs against a server it starts; by hand (after `npm ci` here):
//
//     node bulk_write.js --base http://127.0.0.1:8080 --data-dir bulkwrite-data --mode access --workdir /tmp/x
//
// Modes: `access` (the bootstrap access token, no token endpoint), `refresh` (client id/secret and the
// bootstrap refresh token: the SDK calls POST /oauth/v2/token first, multipart), `grant` (a fresh grant
// code from `bulkwrite admin grant`, which the SDK exchanges at the token endpoint).
//
// Prints one line per step; any failed check exits 1 with a message naming the step.
"use strict";

const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const { execFileSync } = require("child_process");

let STEP = "start";
let PREFIX = "node";

function step(name) {
    STEP = name;
}

function ok(detail) {
    console.log(`${PREFIX}: ok   ${STEP}${detail ? ": " + detail : ""}`);
}

class CheckFailed extends Error {}

function check(condition, message) {
    if (!condition) throw new CheckFailed(message);
}

function fail(message) {
    console.error(`${PREFIX}: FAIL ${STEP}: ${message}`);
    process.exit(1);
}

const SDK = "@zohocrm/nodejs-sdk-2.0";
let sdk;
try {
    sdk = {
        InitializeBuilder: require(`${SDK}/routes/initialize_builder`).InitializeBuilder,
        Initializer: require(`${SDK}/routes/initializer`).Initializer,
        OAuthBuilder: require(`${SDK}/models/authenticator/oauth_builder`).OAuthBuilder,
        FileStore: require(`${SDK}/models/authenticator/store/file_store`).FileStore,
        UserSignature: require(`${SDK}/routes/user_signature`).UserSignature,
        DataCenter: require(`${SDK}/routes/dc/data_center`).DataCenter,
        LogBuilder: require(`${SDK}/routes/logger/log_builder`).LogBuilder,
        Levels: require(`${SDK}/routes/logger/logger`).Levels,
        SDKConfigBuilder: require(`${SDK}/routes/sdk_config_builder`).SDKConfigBuilder,
        HeaderMap: require(`${SDK}/routes/header_map`).HeaderMap,
        Choice: require(`${SDK}/utils/util/choice`).Choice,
        StreamWrapper: require(`${SDK}/utils/util/stream_wrapper`).StreamWrapper,
        SDKException: require(`${SDK}/core/com/zoho/crm/api/exception/sdk_exception`).SDKException,
        bw: {
            ...require(`${SDK}/core/com/zoho/crm/api/bulk_write/bulk_write_operations`),
            FileBodyWrapper: require(`${SDK}/core/com/zoho/crm/api/bulk_write/file_body_wrapper`).FileBodyWrapper,
            SuccessResponse: require(`${SDK}/core/com/zoho/crm/api/bulk_write/success_response`).SuccessResponse,
            APIException: require(`${SDK}/core/com/zoho/crm/api/bulk_write/api_exception`).APIException,
            RequestWrapper: require(`${SDK}/core/com/zoho/crm/api/bulk_write/request_wrapper`).RequestWrapper,
            Resource: require(`${SDK}/core/com/zoho/crm/api/bulk_write/resource`).Resource,
            FieldMapping: require(`${SDK}/core/com/zoho/crm/api/bulk_write/field_mapping`).FieldMapping,
            BulkWriteResponse: require(`${SDK}/core/com/zoho/crm/api/bulk_write/bulk_write_response`).BulkWriteResponse,
        },
        rec: {
            RecordOperations: require(`${SDK}/core/com/zoho/crm/api/record/record_operations`).RecordOperations,
            Record: require(`${SDK}/core/com/zoho/crm/api/record/record`).Record,
            BodyWrapper: require(`${SDK}/core/com/zoho/crm/api/record/body_wrapper`).BodyWrapper,
            ActionWrapper: require(`${SDK}/core/com/zoho/crm/api/record/action_wrapper`).ActionWrapper,
            ResponseWrapper: require(`${SDK}/core/com/zoho/crm/api/record/response_wrapper`).ResponseWrapper,
            SuccessResponse: require(`${SDK}/core/com/zoho/crm/api/record/success_response`).SuccessResponse,
            APIException: require(`${SDK}/core/com/zoho/crm/api/record/api_exception`).APIException,
        },
        version: require(`${SDK}/package.json`).version,
    };
} catch (error) {
    // the test reads this line
    console.error(`${PREFIX}: SDK NOT INSTALLED (${error.message.split("\n")[0]}); run \`bash .ci/run\` or ` +
        "`npm ci --prefix crates/cli/tests/sdk/node`");
    process.exit(3);
}

// ---- small helpers: values, dumps, zip and CSV without extra dependencies ----

function value(choice) {
    return choice instanceof sdk.Choice ? choice.getValue() : choice;
}

function describe(obj, depth = 0) {
    if (obj === null || obj === undefined) return String(obj);
    if (depth > 6) return "…";
    if (obj instanceof sdk.Choice) return JSON.stringify(obj.getValue());
    if (typeof obj === "bigint") return obj.toString() + "n";
    if (typeof obj !== "object") return JSON.stringify(obj);
    if (obj instanceof Date) return obj.toISOString();
    if (Buffer.isBuffer(obj)) return `<${obj.length} bytes>`;
    if (Array.isArray(obj)) return "[" + obj.map((o) => describe(o, depth + 1)).join(", ") + "]";
    if (obj instanceof Map) {
        return "{" + [...obj.entries()].map(([k, v]) => `${k}: ${describe(v, depth + 1)}`).join(", ") + "}";
    }
    const fields = Object.entries(obj).filter(([k]) => k !== "keyModified");
    return (obj.constructor ? obj.constructor.name : "") +
        "{" + fields.map(([k, v]) => `${k}: ${describe(v, depth + 1)}`).join(", ") + "}";
}

function detail(details, key) {
    if (details instanceof Map) return details.get(key);
    return details ? details[key] : undefined;
}

function expectObject(response, what) {
    check(response != null, `${what}: the SDK returned no APIResponse`);
    const obj = response.getObject();
    check(obj != null, `${what}: HTTP ${response.getStatusCode()}, headers ${JSON.stringify(response.getHeaders())}; ` +
        "the SDK could not map the body (getObject() is null)");
    return obj;
}

function expectAPIException(response, ExceptionClass, what, code) {
    const obj = expectObject(response, what);
    check(obj instanceof ExceptionClass,
        `${what}: expected the SDK's APIException, got ${describe(obj)} (HTTP ${response.getStatusCode()})`);
    check(value(obj.getStatus()) === "error", `${what}: APIException status ${describe(obj.getStatus())}, expected "error"`);
    const got = value(obj.getCode());
    if (code) {
        check(got === code, `${what}: APIException code ${JSON.stringify(got)}, expected ${code} (${describe(obj)})`);
    } else {
        check(typeof got === "string" && got !== "", `${what}: APIException without a code (${describe(obj)})`);
    }
    return obj;
}

const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        table[n] = c >>> 0;
    }
    return table;
})();

function crc32(buffer) {
    let c = 0xffffffff;
    for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
}

/** A zip with one deflated entry. */
function zipOne(name, content) {
    const data = zlib.deflateRawSync(content);
    const nameBytes = Buffer.from(name, "utf8");
    const crc = crc32(content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(0, 42); // local header offset (fields 30..41 stay zero)
    const centralOffset = local.length + nameBytes.length + data.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(central.length + nameBytes.length, 12);
    end.writeUInt32LE(centralOffset, 16);
    return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

/** Every entry of a zip, read through its central directory: [{name, data}]. */
function unzip(buffer) {
    let eocd = -1;
    for (let i = buffer.length - 22; i >= 0; i--) {
        if (buffer.readUInt32LE(i) === 0x06054b50) {
            eocd = i;
            break;
        }
    }
    check(eocd >= 0, `not a zip (${buffer.length} bytes, starts ${JSON.stringify(buffer.subarray(0, 16).toString("latin1"))})`);
    const count = buffer.readUInt16LE(eocd + 10);
    let at = buffer.readUInt32LE(eocd + 16);
    const entries = [];
    for (let i = 0; i < count; i++) {
        check(buffer.readUInt32LE(at) === 0x02014b50, "bad zip central directory");
        const method = buffer.readUInt16LE(at + 10);
        const compressed = buffer.readUInt32LE(at + 20);
        const nameLength = buffer.readUInt16LE(at + 28);
        const extraLength = buffer.readUInt16LE(at + 30);
        const commentLength = buffer.readUInt16LE(at + 32);
        const localOffset = buffer.readUInt32LE(at + 42);
        const name = buffer.subarray(at + 46, at + 46 + nameLength).toString("utf8");
        const localData = localOffset + 30 + buffer.readUInt16LE(localOffset + 26) + buffer.readUInt16LE(localOffset + 28);
        const raw = buffer.subarray(localData, localData + compressed);
        check(method === 0 || method === 8, `zip entry ${name} uses method ${method}`);
        entries.push({ name, data: method === 8 ? zlib.inflateRawSync(raw) : Buffer.from(raw) });
        at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
}

/** RFC 4180 CSV into rows of cells. */
function parseCsv(text) {
    const rows = [];
    let row = [];
    let cell = "";
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quoted) {
            if (c === '"' && text[i + 1] === '"') {
                cell += '"';
                i++;
            } else if (c === '"') {
                quoted = false;
            } else {
                cell += c;
            }
        } else if (c === '"') {
            quoted = true;
        } else if (c === ",") {
            row.push(cell);
            cell = "";
        } else if (c === "\n" || c === "\r") {
            if (c === "\r" && text[i + 1] === "\n") i++;
            row.push(cell);
            rows.push(row);
            row = [];
            cell = "";
        } else {
            cell += c;
        }
    }
    if (cell !== "" || row.length > 0) {
        row.push(cell);
        rows.push(row);
    }
    return rows;
}

function parseArgs(argv) {
    const args = { bulkwrite: "bulkwrite" };
    const names = { "--base": "base", "--data-dir": "dataDir", "--mode": "mode", "--workdir": "workdir", "--bulkwrite": "bulkwrite" };
    for (let i = 0; i < argv.length; i += 2) {
        const key = names[argv[i]];
        if (!key || argv[i + 1] === undefined) fail(`usage: bulk_write.js --base URL --data-dir DIR --mode access|refresh|grant --workdir DIR [--bulkwrite PATH] (bad argument ${argv[i]})`);
        args[key] = argv[i + 1];
    }
    for (const key of ["base", "dataDir", "mode", "workdir"]) if (!args[key]) fail(`missing argument for ${key}`);
    if (!["access", "refresh", "grant"].includes(args.mode)) fail(`unknown mode ${args.mode}`);
    return args;
}

// ---- the flow ----

// Reads bootstrap.json and initialises the SDK in `args.mode`; returns { boot, orgId, storePath }.
async function initialize(args) {
    const base = args.base;
    step("read bootstrap.json");
    const boot = JSON.parse(fs.readFileSync(path.join(args.dataDir, "bootstrap.json"), "utf8"));
    for (const key of ["org_id", "user_email", "access_token", "client_id", "client_secret", "refresh_token"]) {
        check(typeof boot[key] === "string" && boot[key] !== "", `bootstrap.json lacks ${key}`);
    }
    const orgId = boot.org_id;
    ok(`org ${orgId}`);

    step(`initialize SDK (${args.mode} mode)`);
    let token;
    if (args.mode === "access") {
        token = new sdk.OAuthBuilder().accessToken(boot.access_token).build();
    } else if (args.mode === "refresh") {
        token = new sdk.OAuthBuilder().clientId(boot.client_id).clientSecret(boot.client_secret)
            .refreshToken(boot.refresh_token).build();
    } else {
        const scopes = "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL,ZohoCRM.modules.ALL,ZohoCRM.settings.ALL," +
            "ZohoCRM.users.ALL,ZohoCRM.org.ALL";
        let out;
        try {
            out = execFileSync(args.bulkwrite, ["admin", "grant", "--data-dir", args.dataDir, "--scopes", scopes],
                { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        } catch (error) {
            check(false, `\`bulkwrite admin grant\` failed: ${error.message} ${error.stderr || ""}`);
        }
        const lines = out.split("\n").map((l) => l.trim()).filter((l) => l);
        check(lines.length >= 1, `\`bulkwrite admin grant\` printed no code: ${JSON.stringify(out)}`);
        const grant = lines[lines.length - 1];
        console.log(`${PREFIX}: grant code ${grant.slice(0, 12)}…`);
        token = new sdk.OAuthBuilder().clientId(boot.client_id).clientSecret(boot.client_secret)
            .grantToken(grant).build();
    }
    const environment = sdk.DataCenter.setEnvironment(base, base + "/oauth/v2/token", base, "local");
    const storePath = path.join(args.workdir, "sdk_tokens.csv");
    (await new sdk.InitializeBuilder())
        .user(new sdk.UserSignature(boot.user_email.toLowerCase()))
        .environment(environment)
        .token(token)
        .store(new sdk.FileStore(storePath))
        .SDKConfig(new sdk.SDKConfigBuilder().autoRefreshFields(false).pickListValidation(false).build())
        .resourcePath(args.workdir)
        .logger(new sdk.LogBuilder().level(sdk.Levels.INFO).filePath(path.join(args.workdir, "sdk.log")).build())
        .initialize();
    for (let i = 0; i < 100 && (await sdk.Initializer.getInitializer()) == null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    check((await sdk.Initializer.getInitializer()) != null, "the SDK did not initialize (see sdk.log)");
    ok(`SDK ${sdk.version}`);
    return { boot, orgId, storePath };
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    PREFIX = `node[${args.mode}]`;
    const base = args.base;
    fs.mkdirSync(args.workdir, { recursive: true }); // the SDK's FileStore does not create directories

    const { orgId, storePath } = await initialize(args);

    const { bw, rec } = sdk;
    const ops = new bw.BulkWriteOperations();

    step("upload file (POST /crm/v2/upload)");
    const csvText = "Last_Name,Company,Email\nBoyle,Acme,boyle@example.com\nQuist,Globex,quist@example.com\n" +
        ",Initech,nameless@example.com\n";
    const zipPath = path.join(args.workdir, "Leads.zip");
    fs.writeFileSync(zipPath, zipOne("Leads.csv", Buffer.from(csvText, "utf8")));
    let body = new bw.FileBodyWrapper();
    body.setFile(new sdk.StreamWrapper(null, null, zipPath));
    const headers = new sdk.HeaderMap();
    await headers.add(bw.UploadFileHeader.FEATURE, "bulk-write");
    await headers.add(bw.UploadFileHeader.X_CRM_ORG, orgId);
    let response = await ops.uploadFile(body, headers);
    let obj = expectObject(response, "upload");
    check(obj instanceof bw.SuccessResponse, `upload: expected SuccessResponse, got ${describe(obj)}`);
    check(value(obj.getStatus()) === "success", `upload: status ${describe(obj.getStatus())}`);
    check(value(obj.getCode()) === "FILE_UPLOAD_SUCCESS", `upload: code ${describe(obj.getCode())}`);
    let fileId = detail(obj.getDetails(), "file_id");
    check(fileId != null && /^\d+$/.test(String(fileId)), `upload: details.file_id ${describe(fileId)}`);
    fileId = String(fileId);
    ok(`file_id ${fileId} (HTTP ${response.getStatusCode()})`);

    if (args.mode !== "access") {
        step("token store holds the token from the token endpoint");
        const stored = fs.readFileSync(storePath, "utf8").split("\n").filter((l) => l.trim());
        check(stored.length >= 2, `the SDK stored no token in ${storePath}: ${JSON.stringify(stored)}`);
        ok(`${stored.length - 1} token row(s)`);
    }

    step("create bulk write job (POST /crm/bulk/v2/write)");
    const request = new bw.RequestWrapper();
    request.setOperation(new sdk.Choice("insert"));
    request.setCharacterEncoding("UTF-8");
    const resource = new bw.Resource();
    resource.setType(new sdk.Choice("data"));
    resource.setModule("Leads");
    resource.setFileId(fileId);
    resource.setIgnoreEmpty(true);
    resource.setFieldMappings(["Last_Name", "Company", "Email"].map((name, index) => {
        const mapping = new bw.FieldMapping();
        mapping.setAPIName(name);
        mapping.setIndex(index);
        return mapping;
    }));
    request.setResource([resource]);
    response = await ops.createBulkWriteJob(request);
    obj = expectObject(response, "create job");
    check(obj instanceof bw.SuccessResponse, `create job: expected SuccessResponse, got ${describe(obj)}`);
    check(value(obj.getCode()) === "SUCCESS", `create job: code ${describe(obj.getCode())}`);
    const rawJobId = detail(obj.getDetails(), "id");
    check(rawJobId != null && /^\d+$/.test(String(rawJobId)), `create job: details.id ${describe(rawJobId)}`);
    const jobId = BigInt(String(rawJobId)); // the SDK wants BigInt ids
    ok(`job ${jobId} (HTTP ${response.getStatusCode()})`);

    step("poll getBulkWriteJobDetails until COMPLETED");
    const deadline = Date.now() + 120000;
    const seen = [];
    let job;
    for (;;) {
        response = await ops.getBulkWriteJobDetails(jobId);
        job = expectObject(response, "job details");
        check(job instanceof bw.BulkWriteResponse, `job details: expected BulkWriteResponse, got ${describe(job)}`);
        const status = value(job.getStatus());
        if (seen[seen.length - 1] !== status) seen.push(status);
        check(["ADDED", "IN PROGRESS", "COMPLETED"].includes(status), `job status ${JSON.stringify(status)} (${describe(job)})`);
        if (status === "COMPLETED") break;
        check(Date.now() < deadline, `job ${jobId} not COMPLETED after 120 s; statuses ${seen.join(" -> ")}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    check(job.getId() === jobId, `job details id ${describe(job.getId())}, expected ${jobId}n`);
    check(value(job.getOperation()) === "insert", `job operation ${describe(job.getOperation())}`);
    const resources = job.getResource() || [];
    check(resources.length === 1, `job resource ${describe(resources)}`);
    check(value(resources[0].getStatus()) === "COMPLETED", `resource status ${describe(resources[0].getStatus())}`);
    const counts = resources[0].getFile();
    check(counts != null, "job resource has no file counts");
    const got = [counts.getAddedCount(), counts.getSkippedCount(), counts.getUpdatedCount(), counts.getTotalCount()];
    check(JSON.stringify(got) === "[2,1,0,3]", `file counts (added, skipped, updated, total) = ${describe(got)}, expected [2,1,0,3]`);
    const downloadUrl = job.getResult() ? job.getResult().getDownloadUrl() : null;
    check(typeof downloadUrl === "string" && downloadUrl.startsWith(base + "/"),
        `result.download_url ${JSON.stringify(downloadUrl)} is not an absolute URL on ${base}`);
    ok(`statuses ${seen.join(" -> ")}; counts ${JSON.stringify(got)}`);

    step("download result through the SDK");
    response = await ops.downloadBulkWriteResult(downloadUrl);
    obj = expectObject(response, "download");
    check(obj instanceof bw.FileBodyWrapper, `download: expected FileBodyWrapper, got ${describe(obj)}`);
    const stream = obj.getFile();
    check(stream != null, "download: FileBodyWrapper without a file");
    const name = stream.getName();
    check(name === `${jobId}.zip`, `download: file name ${JSON.stringify(name)}, expected "${jobId}.zip"`);
    const bytes = Buffer.from(stream.getStream());
    fs.writeFileSync(path.join(args.workdir, "result-" + name), bytes);
    const entries = unzip(bytes);
    check(entries.length === 1, `result zip holds ${entries.map((e) => e.name)}, expected one CSV`);
    const rows = parseCsv(entries[0].data.toString("utf8").replace(/^\uFEFF/, ""));
    check(JSON.stringify(rows[0]) === JSON.stringify(["Last_Name", "Company", "Email", "STATUS", "RECORD_ID", "ERRORS"]),
        `result header ${JSON.stringify(rows[0])}`);
    check(rows.length === 4, `result has ${rows.length - 1} data rows, expected 3: ${JSON.stringify(rows)}`);
    for (const [row, last] of [[rows[1], "Boyle"], [rows[2], "Quist"]]) {
        check(row[0] === last && row[3] === "ADDED" && /^\d+$/.test(row[4]) && row[5] === "",
            `result row ${JSON.stringify(row)}: expected ${last} ADDED with a record id and no errors`);
    }
    const skipped = rows[3];
    check(skipped[3] === "SKIPPED" && skipped[4] === "" && skipped[5] === "MANDATORY_NOT_FOUND-Last_Name",
        `result row ${JSON.stringify(skipped)}: expected SKIPPED with ERRORS "MANDATORY_NOT_FOUND-Last_Name"`);
    const bulkRecordId = BigInt(rows[1][4]);
    ok(`${entries[0].name}: ADDED, ADDED, SKIPPED (${skipped[5]})`);

    step("error: upload without feature/X-CRM-ORG headers");
    body = new bw.FileBodyWrapper();
    body.setFile(new sdk.StreamWrapper(null, null, zipPath));
    response = await ops.uploadFile(body);
    let err = expectAPIException(response, bw.APIException, "upload without headers");
    ok(`APIException ${value(err.getCode())} (HTTP ${response.getStatusCode()}): ${value(err.getMessage())}`);

    step("error: create job with an unknown file_id");
    resource.setFileId("111111000000999999");
    request.setResource([resource]);
    response = await ops.createBulkWriteJob(request);
    expectAPIException(response, bw.APIException, "create job with unknown file_id", "FILE_NOT_SUPPORTED");
    ok(`APIException FILE_NOT_SUPPORTED (HTTP ${response.getStatusCode()})`);

    step("error: job details of an unknown job id");
    response = await ops.getBulkWriteJobDetails(111111000000999999n);
    expectAPIException(response, bw.APIException, "unknown job", "RESOURCE_NOT_FOUND");
    ok(`APIException RESOURCE_NOT_FOUND (HTTP ${response.getStatusCode()})`);

    const records = new rec.RecordOperations();

    step("records: getRecord of a bulk-inserted lead");
    response = await records.getRecord(bulkRecordId, "Leads");
    obj = expectObject(response, "getRecord (bulk)");
    check(obj instanceof rec.ResponseWrapper, `getRecord: expected ResponseWrapper, got ${describe(obj)}`);
    let data = obj.getData() || [];
    check(data.length === 1 && data[0].getId() === bulkRecordId, `getRecord data ${describe(data)}`);
    check(data[0].getKeyValue("Last_Name") === "Boyle", `Last_Name ${describe(data[0].getKeyValue("Last_Name"))}`);
    ok(`lead ${bulkRecordId} Last_Name Boyle`);

    step("records: createRecords (POST /crm/v2/Leads)");
    const lead = new rec.Record();
    lead.addKeyValue("Last_Name", "Sdkwright");
    lead.addKeyValue("Company", "Node SDK Ltd");
    lead.addKeyValue("Email", "sdkwright@example.com");
    const wrapper = new rec.BodyWrapper();
    wrapper.setData([lead]);
    response = await records.createRecords("Leads", wrapper);
    obj = expectObject(response, "createRecords");
    check(obj instanceof rec.ActionWrapper, `createRecords: expected ActionWrapper, got ${describe(obj)}`);
    const actions = obj.getData() || [];
    check(actions.length === 1 && actions[0] instanceof rec.SuccessResponse,
        `createRecords: expected one SuccessResponse, got ${describe(actions)}`);
    check(value(actions[0].getCode()) === "SUCCESS", `createRecords: code ${describe(actions[0].getCode())}`);
    const rawId = detail(actions[0].getDetails(), "id");
    check(rawId != null && /^\d+$/.test(String(rawId)), `createRecords: details.id ${describe(rawId)}`);
    const newId = BigInt(String(rawId));
    ok(`lead ${newId} (HTTP ${response.getStatusCode()})`);

    step("records: getRecord of the created lead");
    response = await records.getRecord(newId, "Leads");
    obj = expectObject(response, "getRecord");
    check(obj instanceof rec.ResponseWrapper, `getRecord: expected ResponseWrapper, got ${describe(obj)}`);
    data = obj.getData() || [];
    check(data.length === 1 && data[0].getId() === newId, `getRecord data ${describe(data)}`);
    for (const [key, expected] of [["Last_Name", "Sdkwright"], ["Company", "Node SDK Ltd"], ["Email", "sdkwright@example.com"]]) {
        check(data[0].getKeyValue(key) === expected, `${key} ${describe(data[0].getKeyValue(key))}, expected ${expected}`);
    }
    ok("Last_Name, Company, Email read back");

    console.log(`${PREFIX}: all steps passed`);
}

// Run as a script; `bulk_read.js` requires the helpers and runs its own flow.
function run(flow) {
    process.on("unhandledRejection", (error) => {
        fail(`unhandled rejection: ${describe(error)}`);
    });
    flow().then(
        () => process.exit(0),
        (error) => {
            if (error instanceof CheckFailed) fail(error.message);
            if (error && error.stack) console.error(error.stack);
            fail(`${error && error.constructor ? error.constructor.name : "error"}: ${describe(error)}`);
        },
    );
}

module.exports = {
    SDK, sdk, step, ok, check, value, describe, detail, expectObject, expectAPIException, unzip, parseCsv, parseArgs,
    initialize, run, setPrefix: (prefix) => { PREFIX = prefix; }, prefix: () => PREFIX,
};

if (require.main === module) run(main);
