#!/usr/bin/env node
// The installed `boot-bench` command: runs the TypeScript CLI through tsx, which is a dependency.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
process.exit(await main());
