import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { suites as configuredSuites } from "../../config/suites.js";
import { allowListsFromContext, DOCUMENTED_INSTANCE_TYPES } from "../../infra/allow-lists.js";
import { loadSuites } from "../../infra/suites-schema.js";

const suites = loadSuites(configuredSuites);
const listsWith = (context: Record<string, unknown> = {}) =>
  allowListsFromContext(new App({ context }), suites);

describe("the stack's allow-lists from CDK context", () => {
  it("defaults to the suites' instance types and the documented ones, and the public parameters", () => {
    expect(listsWith()).toEqual({
      instanceTypes: ["c7g.large", "c7i.large"],
      // Every suite reads /aws/service/…, which the public prefix already covers.
      imageParameterPrefixes: ["/aws/service/"],
    });
    for (const type of DOCUMENTED_INSTANCE_TYPES) expect(listsWith().instanceTypes).toContain(type);
  });

  it("takes instance types as a JSON array or a comma-separated list, and * for any", () => {
    expect(listsWith({ instanceTypes: ["m7i.large", "c7i.large", "c7g.large"] }).instanceTypes).toEqual([
      "c7g.large",
      "c7i.large",
      "m7i.large",
    ]);
    expect(listsWith({ instanceTypes: "c7g.large, c7i.large,m7g.metal-48xl" }).instanceTypes).toEqual([
      "c7g.large",
      "c7i.large",
      "m7g.metal-48xl",
    ]);
    expect(listsWith({ instanceTypes: "*" }).instanceTypes).toBe("*");
  });

  it("refuses instance types that are none, and a list that leaves out a suite's", () => {
    expect(() => listsWith({ instanceTypes: "c7i.large,c7g.large,huge" })).toThrow(
      'Context instanceTypes must list EC2 instance types such as c7i.large, or be * for any; got "huge"',
    );
    expect(() => listsWith({ instanceTypes: "c7i.large" })).toThrow(
      "Context instanceTypes leaves out c7g.large, which the stack's suites benchmark",
    );
  });

  it("adds parameter prefixes from context and from suites outside /aws/service/", () => {
    const ownSuite = loadSuites([
      {
        name: "team-nightly",
        schedule: { cron: "0 3 ? * * *", timezone: "UTC" },
        targets: [
          { pattern: "/team/amis/*/nightly", instanceTypes: { x86_64: ["c7i.large"] } },
          { image: "resolve:ssm:/other/images/latest", instanceTypes: { x86_64: ["c7i.large"] } },
        ],
      },
    ]);
    const lists = allowListsFromContext(
      new App({ context: { imageParameterPrefixes: "/aws/service/freebsd/,/lab/" } }),
      ownSuite,
    );
    expect(lists.imageParameterPrefixes).toEqual(["/aws/service/", "/lab/", "/other/images/", "/team/amis/"]);
  });

  it("refuses a prefix that does not end a path level", () => {
    expect(() => listsWith({ imageParameterPrefixes: ["/team/amis"] })).toThrow(
      'Context imageParameterPrefixes must list SSM path prefixes that start and end with /, such as /team/amis/; got "/team/amis"',
    );
  });
});
