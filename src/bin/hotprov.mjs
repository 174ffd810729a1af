#!/usr/bin/env node
// `npx hotprov …`: the command line, run from the sources through tsx (no build needed for a one-off command).
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
