import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/** The shape of the code itself: what imports what under src/. */
const SRC = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every file each file imports or re-exports from, type-only imports included: they tie modules as tightly. */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+['"](\.[^'"]+)['"]/gms)].map((m) => resolve(dirname(file), m[1] ?? ''));
    graph.set(file, targets);
  }
  return graph;
}

/** The groups of files that import each other round in a circle (Tarjan's strongly connected components). */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  const visit = (file: string) => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(file) === index.get(file)) {
      const group: string[] = [];
      for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
        onStack.delete(member);
        group.push(member);
        if (member === file) break;
      }
      const selfImport = (graph.get(file) ?? []).includes(file);
      if (group.length > 1 || selfImport) cycles.push(group.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

const Architecture = suite('architecture');

Architecture('no module under src/ imports itself round a circle', () => {
  const cycles = importCycles(importGraph(sourceFiles(SRC))).map((group) => group.map((f) => relative(SRC, f)).join(' ↔ '));
  assert.equal(cycles, []);
});

/** docs/architecture.md "Rules": the folders each folder under src/ may import (root files are always allowed). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  db: [],
  sip: [],
  domain: ['db'],
  vendors: ['domain'],
  provisioning: ['domain', 'vendors', 'db'],
  sync: ['domain', 'provisioning', 'vendors', 'sip', 'db'],
  redirect: ['domain', 'vendors', 'db'],
  webhooks: ['domain', 'db'],
  jobs: ['domain', 'sync', 'redirect', 'webhooks', 'db'],
  edge: ['domain', 'provisioning', 'sync', 'db'],
  console: ['domain', 'vendors', 'provisioning', 'sync', 'db', 'edge'],
  http: ['domain', 'vendors', 'provisioning', 'sync', 'sip', 'redirect', 'webhooks', 'jobs', 'db', 'edge', 'console'],
  bin: [],
};

Architecture('each folder imports only what docs/architecture.md allows it', () => {
  const broken: string[] = [];
  for (const [file, targets] of importGraph(sourceFiles(SRC))) {
    const [folder, ...rest] = relative(SRC, file).split('/');
    if (folder === undefined || rest.length === 0) continue; // root files compose everything
    for (const target of targets) {
      const path = relative(SRC, target);
      const [targetFolder, ...inside] = path.split('/');
      if (inside.length === 0 || targetFolder === folder) continue; // a root file, or the same folder
      const allowed = MAY_IMPORT[folder] ?? [];
      if (!allowed.some((a) => a === targetFolder || a === path)) broken.push(`${relative(SRC, file)} → ${path}`);
    }
  }
  assert.equal(broken, []);
});

Architecture('the cycle check finds a cycle when there is one', () => {
  const graph = new Map([
    ['/a.ts', ['/b.ts']],
    ['/b.ts', ['/c.ts']],
    ['/c.ts', ['/a.ts', '/d.ts']],
    ['/d.ts', []],
  ]);
  assert.equal(importCycles(graph), [['/a.ts', '/b.ts', '/c.ts']]);
});

Architecture.run();
