#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `zkonnx` works straight from a clone after `npm install`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exit(await main(process.argv.slice(2)));
