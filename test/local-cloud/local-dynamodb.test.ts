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
