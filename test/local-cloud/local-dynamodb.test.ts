/**
 * One data directory, several boot-bench processes (two `npm start`, `serve-dynamodb` beside
 * `run --local`): dynalite locks its directory, so the second must use the first one's server, and
 * the first must keep serving until the second is done.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { ensureTable, startLocalDynamoDb } from "../../local-cloud/runner/local-dynamodb.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const client = (endpoint: string) =>
  new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });

describe.runIf(process.platform === "linux")(
  "a data directory used by two boot-bench processes at once",
  () => {
    it("shares the owner's server, which serves until the last user has closed", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "boot-bench-dynamodb-"));
      dirs.push(dataDir);
      const owner = await startLocalDynamoDb({ dataDir });
      const second = await startLocalDynamoDb({ dataDir });
      expect(owner.sharedFrom).toBeUndefined();
      expect(second.sharedFrom).toBe(dataDir);
      expect(second.endpoint).toBe(owner.endpoint);

      await ensureTable(client(second.endpoint), {
        TableName: "shared",
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      });
      expect((await client(owner.endpoint).send(new ListTablesCommand({}))).TableNames).toEqual(["shared"]);

      // The owner finishes first: its close waits for the second process instead of pulling the database away.
      let ownerClosed = false;
      const closing = owner.close().then(() => {
        ownerClosed = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ownerClosed).toBe(false);
      expect((await client(second.endpoint).send(new ListTablesCommand({}))).TableNames).toEqual(["shared"]);
      await second.close();
      await closing;
      expect(ownerClosed).toBe(true);

      // Freed: the next process owns the directory again and finds the table on disk.
      const next = await startLocalDynamoDb({ dataDir });
      expect(next.sharedFrom).toBeUndefined();
      expect((await client(next.endpoint).send(new ListTablesCommand({}))).TableNames).toEqual(["shared"]);
      await next.close();
    });
  },
);

describe("the local DynamoDB's stall fault", () => {
  it("leaves the next N requests of an operation unanswered until the client gives up, then answers again", async () => {
    const db = await startLocalDynamoDb();
    try {
      const faults = db.faults;
      if (faults === undefined) throw new Error("a server of its own has faults");
      const dynamoDb = client(db.endpoint);
      faults.stall("ListTables", 1);
      const abort = new AbortController();
      let settled = false;
      const stalled = dynamoDb
        .send(new ListTablesCommand({}), { abortSignal: abort.signal })
        .finally(() => {
          settled = true;
        })
        .catch((error: Error) => error);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(settled).toBe(false);
      expect(faults.stalled()).toEqual({ ListTables: 1 });
      // Other operations, and the same one once the count is used up, answer meanwhile.
      expect((await dynamoDb.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      abort.abort();
      expect(((await stalled) as Error).name).toBe("AbortError");
      dynamoDb.destroy();
    } finally {
      await db.close();
    }
  });

  it("closes promptly with a stalled request outstanding", async () => {
    const db = await startLocalDynamoDb();
    const dynamoDb = client(db.endpoint);
    db.faults?.stall("ListTables", 1);
    const stalled = dynamoDb.send(new ListTablesCommand({})).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closing = performance.now();
    await db.close();
    expect(performance.now() - closing).toBeLessThan(1_000);
    dynamoDb.destroy();
    await stalled;
  });
});
