/**
 * The line a test image prints when it starts: `cif-test-image version=<v>`. The images write it and the
 * watch reads it back as `Observation.version`, so both sides take the prefix from here.
 */
export const MARKER_PREFIX = 'cif-test-image version=';

/** Reads the version out of a container's log (the marker line), or undefined when it isn't there. */
export function parseMarker(log: string): string | undefined {
  for (const line of log.split('\n')) {
    const i = line.indexOf(MARKER_PREFIX);
    if (i >= 0) return line.slice(i + MARKER_PREFIX.length).trim().split(/\s+/)[0];
  }
  return undefined;
}
