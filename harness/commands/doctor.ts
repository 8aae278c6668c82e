import { formatChecks, hostProbe, runChecks } from '../host/doctor.ts';
import type { Command } from './command.ts';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check that this host can run the e2e loop (docker, privileged containers, cgroups, Go, disk)',
  usage: ['doctor'],
  options: {},
  maxPositionals: 0,
  async run() {
    const checks = await runChecks(hostProbe);
    process.stdout.write(formatChecks(checks) + '\n');
    const failed = checks.filter((c) => c.status === 'fail');
    process.stdout.write(
      failed.length ? `\n${failed.length} check(s) failed: the e2e loop cannot run here yet\n` : '\nthis host can run the e2e loop\n',
    );
    return failed.length ? 1 : 0;
  },
};
