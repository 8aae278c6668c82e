import { describe, expect, it } from 'vitest';
import { dropWorkUses, OPTIONAL_STAGING, stagingReplaces, stagingVersion } from './source.ts';

describe('stagingReplaces', () => {
  it('finds block and single-line staging replaces, nothing else', () => {
    const goMod = [
      'module k8s.io/kubernetes',
      'require k8s.io/api v0.0.0',
      'replace (',
      '\tk8s.io/api => ./staging/src/k8s.io/api',
      '\tk8s.io/apimachinery => ./staging/src/k8s.io/apimachinery',
      '\tgithub.com/foo/bar => github.com/foo/bar v1.2.3',
      ')',
      'replace k8s.io/kms => ./staging/src/k8s.io/kms',
    ].join('\n');
    expect(stagingReplaces(goMod)).toEqual([
      { module: 'k8s.io/api', path: 'staging/src/k8s.io/api' },
      { module: 'k8s.io/apimachinery', path: 'staging/src/k8s.io/apimachinery' },
      { module: 'k8s.io/kms', path: 'staging/src/k8s.io/kms' },
    ]);
  });
});

describe('stagingVersion', () => {
  it.each([
    ['v1.34.4', 'v0.34.4'],
    ['v1.34.0-rc.1', 'v0.34.0-rc.1'],
  ])('%s → %s', (k, s) => expect(stagingVersion(k)).toBe(s));
});

describe('dropWorkUses', () => {
  it('removes only the named use lines', () => {
    const work = 'go 1.24.0\n\nuse (\n\t.\n\t./staging/src/k8s.io/api\n\t./staging/src/k8s.io/sample-controller\n)\n';
    expect(dropWorkUses(work, ['staging/src/k8s.io/sample-controller'])).toBe('go 1.24.0\n\nuse (\n\t.\n\t./staging/src/k8s.io/api\n)\n');
  });
  it('only the sample modules are optional', () => {
    expect(OPTIONAL_STAGING.test('k8s.io/sample-controller')).toBe(true);
    expect(OPTIONAL_STAGING.test('k8s.io/api')).toBe(false);
    expect(OPTIONAL_STAGING.test('k8s.io/sample-apiserver')).toBe(false);
  });
});
