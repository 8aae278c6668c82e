import { describe, expect, it } from 'vitest';
import { CAP_SYS_RESOURCE, hasCapability, parseCapBnd } from './capabilities.ts';

describe('parseCapBnd', () => {
  it.each([
    // this project's CI hosts: bit 24 cleared
    { status: 'Name:\tbash\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n', sysResource: true, mask: 0x1fffeffffffn },
    // an ordinary root shell
    { status: 'CapBnd:\t000001ffffffffff\n', sysResource: false, mask: 0x1ffffffffffn },
    { status: 'CapBnd:\t0000000000000000\n', sysResource: true, mask: 0n },
  ])('CapBnd $mask: CAP_SYS_RESOURCE missing = $sysResource', ({ status, sysResource, mask }) => {
    const got = parseCapBnd(status);
    expect(got).toBe(mask);
    expect(hasCapability(got!, CAP_SYS_RESOURCE)).toBe(!sysResource);
  });

  it.each(['', 'CapEff:\t000001ffffffffff\n', 'CapBnd:\tzz\n'])('undefined for %j', (status) => {
    expect(parseCapBnd(status)).toBeUndefined();
  });
});
