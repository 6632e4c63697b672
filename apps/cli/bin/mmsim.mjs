#!/usr/bin/env node
// mmsim: runs the TypeScript sources directly through tsx (the packages are source-first).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
