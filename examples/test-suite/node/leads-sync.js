// The code under test: a small Leads import built on the official Zoho CRM Node SDK (`@zohocrm/nodejs-sdk-2.0`).
// It knows nothing of bulkwrite: pointed at Zoho it runs unchanged. leads-sync.test.js points it at a
// bulkwrite server started with --test-controls and makes that server misbehave on purpose.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const zlib = require("zlib");

const SDK = "@zohocrm/nodejs-sdk-2.0";
const BW = `${SDK}/core/com/zoho/crm/api/bulk_write`;
const { BulkWriteOperations, UploadFileHeader } = require(`${BW}/bulk_write_operations`);
const { FileBodyWrapper } = require(`${BW}/file_body_wrapper`);
const { RequestWrapper } = require(`${BW}/request_wrapper`);
const { Resource } = require(`${BW}/resource`);
const { FieldMapping } = require(`${BW}/field_mapping`);
const { CallBack } = require(`${BW}/call_back`);
const { HeaderMap } = require(`${SDK}/routes/header_map`);
const { Choice } = require(`${SDK}/utils/util/choice`);
const { StreamWrapper } = require(`${SDK}/utils/util/stream_wrapper`);

// Zoho's codes worth another try: its API-credit and concurrency limits, and its own failures.
const RETRYABLE = new Set(["TOO_MANY_REQUESTS", "INTERNAL_ERROR"]);
const COLUMNS = ["Last_Name", "Company", "Email"];

/** A call Zoho refused: the HTTP status and Zoho's code and message. */
class ZohoError extends Error {
    constructor(call, status, code, message) {
        super(`${call}: HTTP ${status} ${code}: ${message}`);
        Object.assign(this, { call, status, code });
    }
}

const value = (choice) => (choice instanceof Choice ? choice.getValue() : choice);
const detail = (details, key) => (details instanceof Map ? details.get(key) : details?.[key]);

/** A zip holding one deflated file (Node has no zip writer of its own). */
function zipOne(name, content) {
    const data = zlib.deflateRawSync(content);
    const nameBytes = Buffer.from(name, "utf8");
    const crc = zlib.crc32(content);
    const header = (signature, size) => {
        const b = Buffer.alloc(size);
        b.writeUInt32LE(signature, 0);
        return b;
    };
    const local = header(0x04034b50, 30);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = header(0x02014b50, 46);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    const end = header(0x06054b50, 22);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(central.length + nameBytes.length, 12);
    end.writeUInt32LE(local.length + nameBytes.length + data.length, 16);
    return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

class LeadsImport {
    constructor(orgId, { retries = 3, backoffMs = 50 } = {}) {
        Object.assign(this, { orgId, retries, backoffMs, ops: new BulkWriteOperations() });
    }

    /** Sends a call, retrying Zoho's retryable refusals with a doubling backoff. */
    async call(name, send) {
        for (let attempt = 0; ; attempt++) {
            const response = await send();
            if (response == null) throw new ZohoError(name, null, "NO_RESPONSE", "the SDK gave no response");
            const status = response.getStatusCode();
            const obj = response.getObject();
            if (status < 400) return obj;
            const code = obj ? value(obj.getCode()) : null;
            if (RETRYABLE.has(code) && attempt < this.retries) {
                await new Promise((resolve) => setTimeout(resolve, this.backoffMs * 2 ** attempt));
                continue;
            }
            throw new ZohoError(name, status, code, obj ? value(obj.getMessage()) : null);
        }
    }

    /** Uploads `rows` (objects keyed by COLUMNS) and starts an insert job; returns the job id (a BigInt). */
    async start(rows, callbackUrl) {
        const csv = [COLUMNS.join(","), ...rows.map((row) => COLUMNS.map((c) => row[c] ?? "").join(","))].join("\n");
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "leads-"));
        const zipPath = path.join(scratch, "Leads.zip");
        fs.writeFileSync(zipPath, zipOne("Leads.csv", Buffer.from(csv + "\n", "utf8")));
        const uploaded = await this.call("uploadFile", async () => {
            const body = new FileBodyWrapper();
            body.setFile(new StreamWrapper(null, null, zipPath));
            const headers = new HeaderMap();
            await headers.add(UploadFileHeader.FEATURE, "bulk-write");
            await headers.add(UploadFileHeader.X_CRM_ORG, this.orgId);
            return this.ops.uploadFile(body, headers);
        });
        fs.rmSync(scratch, { recursive: true, force: true });

        const resource = new Resource();
        resource.setType(new Choice("data"));
        resource.setModule("Leads");
        resource.setFileId(String(detail(uploaded.getDetails(), "file_id")));
        resource.setFieldMappings(COLUMNS.map((name, index) => {
            const mapping = new FieldMapping();
            mapping.setAPIName(name);
            mapping.setIndex(index);
            return mapping;
        }));
        const request = new RequestWrapper();
        request.setOperation(new Choice("insert"));
        request.setResource([resource]);
        if (callbackUrl) {
            const callback = new CallBack();
            callback.setUrl(callbackUrl);
            callback.setMethod(new Choice("post"));
            request.setCallback(callback);
        }
        const created = await this.call("createBulkWriteJob", () => this.ops.createBulkWriteJob(request));
        return BigInt(String(detail(created.getDetails(), "id")));
    }

    /** The job's status (ADDED, IN PROGRESS, COMPLETED, FAILED), its counts so far, and the SDK's object. */
    async status(jobId) {
        const job = await this.call("getBulkWriteJobDetails", () => this.ops.getBulkWriteJobDetails(jobId));
        const counts = { added: 0, updated: 0, skipped: 0, total: 0 };
        for (const resource of job.getResource() || []) {
            const file = resource.getFile();
            if (!file) continue;
            counts.added += file.getAddedCount() || 0;
            counts.updated += file.getUpdatedCount() || 0;
            counts.skipped += file.getSkippedCount() || 0;
            counts.total += file.getTotalCount() || 0;
        }
        return { status: value(job.getStatus()), counts, job };
    }

    /** Polls the job until it ends. */
    async wait(jobId, timeoutMs = 60000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const seen = await this.status(jobId);
            if (seen.status === "COMPLETED" || seen.status === "FAILED") return seen;
            if (Date.now() > deadline) throw new Error(`job ${jobId} is still ${seen.status}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }

    /** The job's result zip, as bytes. */
    async result(jobId) {
        const { job } = await this.status(jobId);
        const url = job.getResult().getDownloadUrl();
        const wrapper = await this.call("downloadBulkWriteResult", () => this.ops.downloadBulkWriteResult(url));
        return Buffer.from(wrapper.getFile().getStream());
    }
}

module.exports = { LeadsImport, ZohoError, COLUMNS };
