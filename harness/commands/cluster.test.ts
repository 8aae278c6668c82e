import { describe, expect, it } from 'vitest';
import { parseGate, parseWorkers } from './cluster.ts';

describe('cluster flags', () => {
  it('parses --workers and --gate', () => {
    expect(parseWorkers(undefined)).toBe(1);
    expect(parseWorkers('0')).toBe(0);
    expect(parseWorkers('3')).toBe(3);
    expect(parseGate(undefined)).toBeUndefined();
    expect(parseGate('on')).toBe(true);
    expect(parseGate('off')).toBe(false);
  });
  it('rejects bad values with usage errors (exit 2)', () => {
    for (const bad of ['-1', 'x', '1.5', '11']) expect(() => parseWorkers(bad)).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => parseGate('yes')).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});
