#!/usr/bin/env node
// The `lode` command. The program lives in ../dist (build it with `npx tsc -b packages/cli`).
import { main } from '../dist/main.js';

const code = await main(process.argv);
process.exitCode = code;
// Exit even if a library left a handle open (a keep-alive socket); let buffered output drain first.
setTimeout(() => process.exit(code), 500).unref();
