/**
 * Shared test utilities. Integration tests need a docker engine; where none answers they are skipped, and
 * the skip is announced loudly so a green local run is never mistaken for a tested one (CI always has docker).
 */
import { execaSync } from 'execa';
import { describe } from 'vitest';

let dockerAnswer: boolean | undefined;

export function dockerAvailable(): boolean {
  if (dockerAnswer === undefined) {
    const r = execaSync('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 });
    dockerAnswer = r.exitCode === 0 && String(r.stdout).trim().length > 0;
  }
  return dockerAnswer;
}

/** `describe` for tests that need docker: runs when an engine answers, otherwise skips with a loud banner. */
export function describeWithDocker(name: string, fn: () => void): void {
  if (!dockerAvailable()) {
    const line = `*** SKIPPED (no docker engine answers): ${name} — run scripts/setup-host; CI always runs these ***`;
    console.warn(`\n${'*'.repeat(Math.min(line.length, 120))}\n${line}\n${'*'.repeat(Math.min(line.length, 120))}\n`);
    if (process.env.CI) throw new Error(`CI=true but no docker engine answers: ${name} cannot be skipped in CI`);
  }
  describe.skipIf(!dockerAvailable())(name, fn);
}
