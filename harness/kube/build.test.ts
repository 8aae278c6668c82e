import { describe, expect, it } from 'vitest';
import { buildKey, cifVersion, SEMVER, versionInfo, versionLdflags } from './build.ts';

describe('cifVersion', () => {
  it('stamps the series hash as a semver pre-release', () => {
    expect(cifVersion('v1.34.4', 'e3b0c44298fc')).toBe('v1.34.4-cif.e3b0c44298fc');
    expect(SEMVER.test(cifVersion('v1.34.4', 'e3b0c44298fc'))).toBe(true);
  });
  it('never emits a numeric identifier with a leading zero (invalid semver)', () => {
    const v = cifVersion('v1.34.4', '012345678901');
    expect(v).toBe('v1.34.4-cif.h012345678901');
    expect(SEMVER.test(v)).toBe(true);
    expect(SEMVER.test('v1.34.4-cif.012345678901')).toBe(false);
  });
  it('rejects a malformed pin or hash', () => {
    expect(() => cifVersion('1.34', 'abc')).toThrow(/not vMAJOR/);
    expect(() => cifVersion('v1.34.4', 'xyz!')).toThrow(/not hex/);
  });
  it('has no + (image tags cannot carry it)', () => {
    expect(cifVersion('v1.34.4', 'abcdef')).not.toContain('+');
  });
});

describe('versionLdflags', () => {
  const v = versionInfo('v1.34.4-cif.abc123', 'f'.repeat(40), 'clean', '2026-01-01T00:00:00Z');
  it('sets every upstream version variable in both packages', () => {
    const flags = versionLdflags(v);
    for (const key of ['gitVersion', 'gitMajor', 'gitMinor', 'gitCommit', 'gitTreeState', 'buildDate']) {
      expect(flags).toContain(`-X 'k8s.io/component-base/version.${key}=`);
      expect(flags).toContain(`-X 'k8s.io/client-go/pkg/version.${key}=`);
    }
    expect(flags).toContain("version.gitMajor=1'");
    expect(flags).toContain("version.gitMinor=34'");
    expect(flags).toContain("version.gitVersion=v1.34.4-cif.abc123'");
  });
  it('refuses a version that is not semver', () => {
    expect(() => versionInfo('v1.34', 'x', 'clean', 'd')).toThrow(/semantic version/);
  });
});

describe('buildKey', () => {
  const base = { kubernetes: 'v1.34.4', seriesHash: 'aaa', goVersion: 'go1.26.0', gitCommit: 'c1' };
  it('is stable for the same inputs and changes with each of them', () => {
    expect(buildKey(base)).toBe(buildKey({ ...base }));
    for (const k of Object.keys(base) as (keyof typeof base)[]) {
      expect(buildKey({ ...base, [k]: base[k] + 'x' })).not.toBe(buildKey(base));
    }
  });
});
