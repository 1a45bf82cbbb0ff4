import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createEmulatedPort, type EmulatedPort } from "../../local-cloud/emulated-port.js";
import {
  observe,
  openEmulatedPort,
  openEmulatedPorts,
  settleHandles,
  tcpHandles,
} from "../support/loopback-ports.js";

const BANNER = "SSH-2.0-OpenSSH_9.9 boot-bench-local\r\n";
const REFUSED = { kind: "error", code: "ECONNREFUSED" };
const ACCEPTED = { kind: "connect", banner: BANNER };
const NO_ANSWER = { kind: "no answer" };
/** Long enough for an answer on a starved machine, short of the 1 s SYN retransmission. */
const PATIENCE_MS = 900;

const opened: EmulatedPort[] = [];
const track = <T extends EmulatedPort | EmulatedPort[]>(ports: T): T => {
  opened.push(...(Array.isArray(ports) ? ports : [ports]));
  return ports;
};

afterEach(async () => {
  await Promise.all(opened.splice(0).map((port) => port.close()));
});

describe("emulated port", () => {
  it("shows each phase to a client socket, in any order", async () => {
    const port = track(await openEmulatedPort("127.0.1.201"));
    const look = (ms = PATIENCE_MS) => observe(port.host, port.port, ms);
    expect(port.phase).toBe("refusing");
    expect(await look()).toEqual(REFUSED);

    await port.silent();
    expect(port.phase).toBe("silent");
    // The very first SYN is dropped: neither 'connect' nor 'error' within 500 ms.
    expect(await look(500)).toEqual(NO_ANSWER);

    await port.refuse();
    expect(port.phase).toBe("refusing");
    expect(await look()).toEqual(REFUSED);

    await port.accept();
    expect(port.phase).toBe("accepting");
    expect(await look()).toEqual(ACCEPTED);

    await port.silent();
    expect(await look()).toEqual(NO_ANSWER);

    await port.accept();
    expect(await look()).toEqual(ACCEPTED);
    await port.accept();
    expect(await look()).toEqual(ACCEPTED);

    await port.refuse();
    expect(await look()).toEqual(REFUSED);
  });

  it("drops every SYN while silent, however many clients try", async () => {
    const port = track(await openEmulatedPort("127.0.1.202"));
    await port.silent();
    const views = await Promise.all(Array.from({ length: 30 }, () => observe(port.host, port.port, 500)));
    expect(views).toEqual(views.map(() => NO_ANSWER));
  });

  it("goes from silent to accepting without ever refusing in between", async () => {
    const port = track(await openEmulatedPort("127.0.1.203"));
    await port.silent();
    // Connects every millisecond across the switch, at least 20 on each side of it: none may see an RST.
    const views: Promise<unknown>[] = [];
    const hammer = setInterval(() => views.push(observe(port.host, port.port, PATIENCE_MS)), 1);
    const launched = async (count: number): Promise<void> => {
      while (views.length < count) await new Promise((resolve) => setTimeout(resolve, 1));
    };
    await launched(20);
    await port.accept();
    await launched(views.length + 20);
    clearInterval(hammer);
    const seen = await Promise.all(views);
    expect(seen).not.toContainEqual(REFUSED);
    expect(seen).toContainEqual(NO_ANSWER);
    expect(seen).toContainEqual(ACCEPTED);
  });

  it("runs many ports at once (20 on 127.0.1.1-20)", async () => {
    const hosts = Array.from({ length: 20 }, (_, i) => `127.0.1.${i + 1}`);
    const ports = track(await openEmulatedPorts(hosts));
    const lookAll = () => Promise.all(ports.map((p) => observe(p.host, p.port, PATIENCE_MS)));

    await Promise.all(ports.map((p) => p.silent()));
    expect(await lookAll()).toEqual(ports.map(() => NO_ANSWER));

    // Half go straight to accepting, half refuse first.
    await Promise.all(ports.map((p, i) => (i % 2 === 0 ? p.accept() : p.refuse())));
    expect(await lookAll()).toEqual(ports.map((_, i) => (i % 2 === 0 ? ACCEPTED : REFUSED)));

    await Promise.all(ports.map((p) => p.accept()));
    expect(await lookAll()).toEqual(ports.map(() => ACCEPTED));

    await Promise.all(ports.map((p) => p.close()));
    expect(await lookAll()).toEqual(ports.map(() => REFUSED));
  });

  it("serialises concurrent phase changes in call order", async () => {
    const port = track(await openEmulatedPort("127.0.1.204"));
    const order: string[] = [];
    await Promise.all([
      port.silent().then(() => order.push("silent")),
      port.accept().then(() => order.push("accept")),
      port.refuse().then(() => order.push("refuse")),
      port.silent().then(() => order.push("silent")),
    ]);
    expect(order).toEqual(["silent", "accept", "refuse", "silent"]);
    expect(port.phase).toBe("silent");
    expect(await observe(port.host, port.port, 300)).toEqual(NO_ANSWER);
  });

  it("closes idempotently from every phase, and frees the address", async () => {
    for (const phase of ["refusing", "silent", "accepting"] as const) {
      const port = await openEmulatedPort("127.0.1.205");
      if (phase === "silent") await port.silent();
      if (phase === "accepting") {
        await port.silent();
        await port.accept();
      }
      const first = port.close();
      expect(port.close()).toBe(first);
      await first;
      await port.close();
      expect(await observe(port.host, port.port, PATIENCE_MS)).toEqual(REFUSED);
      await expect(port.accept()).rejects.toThrow(/closed/);
      // The same address can be emulated again at once.
      const again = await createEmulatedPort(port.host, port.port);
      await again.silent();
      await again.close();
    }
  });

  it("refuses non-loopback addresses, duplicates and taken ports with clear errors", async () => {
    await expect(createEmulatedPort("10.0.0.1", 2222)).rejects.toThrow(/loopback/);
    await expect(createEmulatedPort("localhost", 2222)).rejects.toThrow(/loopback/);
    await expect(createEmulatedPort("127.0.1.206", 0)).rejects.toThrow(/1 to 65535/);

    const port = track(await openEmulatedPort("127.0.1.206"));
    await expect(createEmulatedPort(port.host, port.port)).rejects.toThrow(/already an emulated port/);

    // Someone else takes the address while the port refuses: accept() says so.
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: port.host, port: port.port }, resolve));
    try {
      await expect(port.accept()).rejects.toThrow(/already in use/);
      await expect(port.silent()).rejects.toThrow(/already in use/);
      expect(port.phase).toBe("refusing");
      await port.close();
      await expect(createEmulatedPort(port.host, port.port)).rejects.toThrow(/already in use/);
    } finally {
      squatter.close();
    }
  });

  it("leaves no handles behind", async () => {
    await settleHandles();
    const before = tcpHandles();
    const ports = await openEmulatedPorts(["127.0.1.207", "127.0.1.208", "127.0.1.209"]);
    await Promise.all(ports.map((p) => p.silent()));
    await Promise.all(ports.map((p, i) => (i === 0 ? p.refuse() : p.accept())));
    await Promise.all(ports.map((p) => observe(p.host, p.port, 200)));
    await Promise.all(ports.map((p) => p.close()));
    await settleHandles();
    expect(tcpHandles()).toEqual(before);
  });

  it("never keeps the process alive (the worker is unref'd), even when ports are left open", async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const modulePath = path.resolve(here, "../../local-cloud/emulated-port.ts");
    const script = `
      import { createEmulatedPort } from ${JSON.stringify(pathToFileURL(modulePath).href)};
      const a = await createEmulatedPort("127.0.1.210", ${30_000 + Math.floor(Math.random() * 20_000)});
      await a.silent(); await a.accept(); await a.silent(); await a.refuse(); await a.silent();
      await a.close();
      const b = await createEmulatedPort("127.0.1.211", a.port);
      await b.silent();
      console.log("done");
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.on("exit", (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(output.trim()).toBe("done");
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
