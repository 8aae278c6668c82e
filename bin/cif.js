#!/usr/bin/env node
// The `cif` command: runs the TypeScript CLI through tsx, resolved from this package (not the caller's cwd).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../harness/cli.ts');
process.exitCode = await main(process.argv.slice(2));
