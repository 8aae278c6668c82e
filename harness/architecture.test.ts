/**
 * The shape, checked: every relative import between harness folders goes down the layers below, never up
 * and never sideways, so there are no cycles between folders. Tests and test helpers (`*.test.ts`,
 * `testing.ts`, `testdata/`) may reach anywhere: they wire real pieces together on purpose.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HARNESS = dirname(fileURLToPath(import.meta.url));

/** Bottom first. A folder may import only folders on an earlier line. */
export const LAYERS: string[][] = [
  ['contract'],
  ['lib', 'pins.ts'],
  ['host'],
  ['kube'],
  ['images'],
  ['cluster'],
  ['observe'],
  ['registry'],
  ['drivers'],
  ['scenario/format'],
  ['scenario/engine'],
  ['report'],
  ['app'],
  ['commands'],
  ['cli.ts'],
];

const UNITS = LAYERS.flat().sort((a, b) => b.length - a.length);
const layerOf = (unit: string) => LAYERS.findIndex((l) => l.includes(unit));

/** The folder (or top-level file) a harness path belongs to. */
export function unitOf(path: string): string | undefined {
  return UNITS.find((u) => path === u || path.startsWith(`${u}/`));
}

const isTestCode = (path: string) => /\.test\.ts$/.test(path) || /(^|\/)testing\.ts$/.test(path) || path.includes('/testdata/');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** `from '../x.ts'`, `import('../x.ts')`, `export … from '../x.ts'`: relative specifiers only. */
export function relativeImports(text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
}

export interface Edge {
  from: string;
  to: string;
  file: string;
  spec: string;
}

export function folderEdges(root = HARNESS): Edge[] {
  const edges: Edge[] = [];
  for (const abs of sources(root)) {
    const file = relative(root, abs);
    if (isTestCode(file)) continue;
    const from = unitOf(file);
    for (const spec of relativeImports(readFileSync(abs, 'utf8'))) {
      const to = unitOf(relative(root, resolve(dirname(abs), spec)));
      if (from && to && from !== to) edges.push({ from, to, file, spec });
    }
  }
  return edges;
}

/** Folder cycles, each as the path that closes it (`a → b → a`). */
export function cycles(edges: readonly Edge[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
  const found = new Set<string>();
  const walk = (node: string, path: string[]) => {
    const at = path.indexOf(node);
    if (at >= 0) {
      found.add([...path.slice(at), node].join(' → '));
      return;
    }
    for (const n of next.get(node) ?? []) walk(n, [...path, node]);
  };
  for (const start of next.keys()) walk(start, []);
  return [...found];
}

describe('the import graph between harness folders', () => {
  const edges = folderEdges();

  it('knows every folder and top-level file', () => {
    const unknown = sources(HARNESS)
      .map((f) => relative(HARNESS, f))
      .filter((f) => !isTestCode(f) && !unitOf(f) && f !== 'vitest.config.ts');
    expect(unknown, 'add new folders to LAYERS').toEqual([]);
    expect(edges.length).toBeGreaterThan(40);
  });

  it('has no upward or sideways import', () => {
    const bad = edges.filter((e) => layerOf(e.to) >= layerOf(e.from)).map((e) => `${e.file} imports ${e.spec} (${e.from} → ${e.to})`);
    expect(bad).toEqual([]);
  });

  it('has no cycle between folders', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('contract/ imports nothing of ours', () => {
    expect(edges.filter((e) => e.from === 'contract')).toEqual([]);
  });

  it('catches an upward import and a cycle when there is one', () => {
    const made: Edge[] = [
      { from: 'observe', to: 'registry', file: 'observe/x.ts', spec: '../registry/y.ts' },
      { from: 'registry', to: 'observe', file: 'registry/y.ts', spec: '../observe/x.ts' },
    ];
    expect(made.filter((e) => layerOf(e.to) >= layerOf(e.from))).toHaveLength(1);
    expect(cycles(made)).toContain('observe → registry → observe');
    expect(unitOf('scenario/engine/steps/pod.ts')).toBe('scenario/engine');
    expect(relativeImports(`import { a } from '../lib/a.ts';\nexport { b } from './b.ts';\nawait import('../c.ts');`)).toEqual(['../lib/a.ts', './b.ts', '../c.ts']);
  });
});
