import { describe, expect, it } from "vitest";
import { marshallItem, unmarshallItem } from "../../functions/aws/benchmark-table.js";
import { buildRunRecord } from "../../functions/domain/run-record.js";
import { succeededRunState } from "../domain/run-state-fixtures.js";

describe("marshalling", () => {
  it("round-trips a run record exactly, sub-millisecond timestamps included", () => {
    const record = buildRunRecord(succeededRunState(2));
    expect(unmarshallItem(marshallItem(record))).toEqual(record);
  });
});
