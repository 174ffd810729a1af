#!/usr/bin/env node
// `npx hotprov …`: the command line, run through tsx like the server.
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
