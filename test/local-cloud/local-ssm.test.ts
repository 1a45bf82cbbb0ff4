import {
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  paginateGetParametersByPath,
} from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import { rejection, startTestCloud, type TestCloud } from "./local-aws-support.js";

const PUBLISHED: Record<string, string> = {
  "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT": BUILT_IN_AMI_IDS.freebsdCurrentAmd64,
  "/aws/service/freebsd/arm64/base/ufs/15.0/CURRENT": BUILT_IN_AMI_IDS.freebsdCurrentArm64,
  "/aws/service/freebsd/amd64/base/ufs/14.3/RELEASE": BUILT_IN_AMI_IDS.freebsd143Release,
  "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE": BUILT_IN_AMI_IDS.freebsd143Stable,
  "/aws/service/debian/release/bookworm/latest/amd64": BUILT_IN_AMI_IDS.debian12Amd64,
  "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id":
    BUILT_IN_AMI_IDS.ubuntu2404Amd64,
  "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64": BUILT_IN_AMI_IDS.al2023X86_64,
};

describe("local SSM endpoint", () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud();
  });
  afterAll(async () => {
    await t.close();
  });

  it("publishes the catalogue's AMIs as public parameters", async () => {
    for (const [name, amiId] of Object.entries(PUBLISHED)) {
      const { Parameter } = await t.ssm.send(new GetParameterCommand({ Name: name }));
      expect(Parameter).toMatchObject({
        Name: name,
        Type: "String",
        Value: amiId,
        DataType: "aws:ec2:image",
      });
      expect(Parameter?.ARN).toBe(`arn:aws:ssm:us-east-1::parameter${name}`);
      expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    }
  });

  it("keeps the weekly history of a snapshot parameter as versions", async () => {
    const name = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
    const current = (await t.ssm.send(new GetParameterCommand({ Name: name }))).Parameter;
    expect(current?.Version).toBe(4);
    const first = (await t.ssm.send(new GetParameterCommand({ Name: `${name}:1` }))).Parameter;
    expect(first?.Version).toBe(1);
    expect(first?.Selector).toBe(":1");
    expect(first?.Value).not.toBe(current?.Value);
    expect(first?.LastModifiedDate?.getTime()).toBeLessThan(current?.LastModifiedDate?.getTime() ?? 0);
    expect((await rejection(t.ssm.send(new GetParameterCommand({ Name: `${name}:9` })))).name).toBe(
      "ParameterVersionNotFound",
    );
  });

  it("answers ParameterNotFound for an unknown name", async () => {
    const error = await rejection(
      t.ssm.send(new GetParameterCommand({ Name: "/aws/service/freebsd/amd64/base/ufs/99.0/NOPE" })),
    );
    expect(error.name).toBe("ParameterNotFound");
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  it("lists parameters by path, recursively, page by page", async () => {
    const names: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const out = await t.ssm.send(
        new GetParametersByPathCommand({
          Path: "/aws/service/freebsd",
          Recursive: true,
          MaxResults: 2,
          NextToken,
        }),
      );
      expect(out.Parameters?.length).toBeLessThanOrEqual(2);
      names.push(...(out.Parameters ?? []).map((p) => p.Name as string));
      NextToken = out.NextToken;
      pages++;
    } while (NextToken);
    expect(names).toEqual([
      "/aws/service/freebsd/amd64/base/ufs/14.3/RELEASE",
      "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE",
      "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
      "/aws/service/freebsd/arm64/base/ufs/15.0/CURRENT",
    ]);
    expect(pages).toBe(2);

    const viaPaginator: string[] = [];
    for await (const page of paginateGetParametersByPath(
      { client: t.ssm, pageSize: 3 },
      { Path: "/aws/service/", Recursive: true },
    )) {
      viaPaginator.push(...(page.Parameters ?? []).map((p) => p.Name as string));
    }
    expect(viaPaginator).toEqual(expect.arrayContaining(Object.keys(PUBLISHED)));
  });

  it("lists only one level when not recursive", async () => {
    const deep = await t.ssm.send(new GetParametersByPathCommand({ Path: "/aws/service/freebsd" }));
    expect(deep.Parameters).toEqual([]);
    const flat = await t.ssm.send(
      new GetParametersByPathCommand({ Path: "/aws/service/ami-amazon-linux-latest" }),
    );
    expect(flat.Parameters?.map((p) => p.Name)).toEqual([
      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    ]);
  });

  it("validates paths, page sizes and tokens", async () => {
    const bad = [
      new GetParametersByPathCommand({ Path: "aws/service" }),
      new GetParametersByPathCommand({ Path: "/aws/service", MaxResults: 11 }),
    ];
    for (const command of bad)
      expect((await rejection(t.ssm.send(command))).name).toBe("ValidationException");
    const token = await rejection(
      t.ssm.send(new GetParametersByPathCommand({ Path: "/aws", NextToken: "garbage" })),
    );
    expect(token.name).toBe("InvalidNextToken");
  });

  it("gets several parameters at once, naming the unknown ones", async () => {
    const out = await t.ssm.send(
      new GetParametersCommand({ Names: ["/aws/service/debian/release/bookworm/latest/amd64", "/nope"] }),
    );
    expect(out.Parameters?.map((p) => p.Value)).toEqual([BUILT_IN_AMI_IDS.debian12Amd64]);
    expect(out.InvalidParameters).toEqual(["/nope"]);
  });

  it("sees a newly published snapshot as the parameter's next version", async () => {
    const name = "/aws/service/freebsd/arm64/base/ufs/15.0/CURRENT";
    const before = (await t.ssm.send(new GetParameterCommand({ Name: name }))).Parameter;
    const template = t.aws.cloud.catalogue.image(BUILT_IN_AMI_IDS.freebsdCurrentArm64);
    if (!template) throw new Error("catalogue lost an image");
    t.aws.cloud.publishImage({
      ...template,
      imageId: "ami-0aaaaaaaaaaaaaaaa",
      name: "FreeBSD 15.0-CURRENT-arm64-20250904 UFS",
      creationDate: "2025-09-04T07:12:31.000Z",
    });
    const after = (await t.ssm.send(new GetParameterCommand({ Name: name }))).Parameter;
    expect(after?.Value).toBe("ami-0aaaaaaaaaaaaaaaa");
    expect(after?.Version).toBe((before?.Version ?? 0) + 1);
  });
});
