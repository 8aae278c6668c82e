import { describe, expect, it } from 'vitest';
import { blackholeRule, hostsToml, hostsTomlPath } from './nodes.ts';

describe('hostsToml', () => {
  it('gives a plain-HTTP registry a [host] table with pull/resolve (a bare server line is rejected by containerd 1.6)', () => {
    const t = hostsToml('cif-registry:5000');
    expect(t).toContain('server = "http://cif-registry:5000"');
    expect(t).toMatch(/\[host\."http:\/\/cif-registry:5000"\]\n {2}capabilities = \["pull", "resolve"\]/);
    // the top-level server is push-only, so a pull is tried once, not twice
    expect(t).toMatch(/^capabilities = \["push"\]$/m);
    // TOML: keys after a table header belong to it, so the server key must come first
    expect(t.indexOf('server =')).toBeLessThan(t.indexOf('[host.'));
  });

  it('rejects endpoints that are not http(s)://host[:port]', () => {
    expect(() => hostsToml('r:5000', 'r:5000')).toThrow(/not http/);
    expect(() => hostsToml('r:5000', 'http://r:5000/v2')).toThrow(/not http/);
  });

  it('places the file under certs.d/<host[:port]> and refuses unsafe names', () => {
    expect(hostsTomlPath('cif-registry:5000')).toBe('/etc/containerd/certs.d/cif-registry:5000/hosts.toml');
    expect(() => hostsTomlPath('../etc')).toThrow();
    expect(() => hostsTomlPath("r'; rm -rf /")).toThrow();
  });
});

describe('blackholeRule', () => {
  it('drops TCP to the registry address and port, tagged with the run for cleanup', () => {
    const rule = blackholeRule('172.20.0.1', 39679, 'run-1').join(' ');
    expect(rule).toContain('-d 172.20.0.1');
    expect(rule).toContain('--dport 39679');
    expect(rule).toContain('-j DROP');
    expect(rule).toContain('run-1');
  });
});
