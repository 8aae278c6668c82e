/** Linux capability masks from /proc/<pid>/status, as far as the host checks need them. */

export const CAP_SYS_RESOURCE = 24;

/** The CapBnd mask from a /proc/<pid>/status text; undefined when the line is missing or malformed. */
export function parseCapBnd(status: string): bigint | undefined {
  const m = /^CapBnd:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

export function hasCapability(mask: bigint, cap: number): boolean {
  return ((mask >> BigInt(cap)) & 1n) === 1n;
}
