import { describe, expect, it } from 'vitest';
import { hostsTomlPath, renderHostsToml } from './registry-hosts.ts';

describe('renderHostsToml', () => {
  it('gives a plain-HTTP registry a [host] table with pull/resolve (a bare server line is rejected by containerd 1.6)', () => {
    const t = renderHostsToml({ host: 'cif-registry:5000', endpoint: 'http://cif-registry:5000' });
    expect(t).toContain('server = "http://cif-registry:5000"');
    expect(t).toContain('[host."http://cif-registry:5000"]');
    expect(t).toMatch(/\[host\."http:\/\/cif-registry:5000"\]\n  capabilities = \["pull", "resolve"\]/);
    // the top-level server is push-only, so a pull is tried once, not twice
    expect(t).toMatch(/^capabilities = \["push"\]$/m);
    // the host table must come after the top-level server key (TOML: keys after a table header belong to it)
    expect(t.indexOf('server =')).toBeLessThan(t.indexOf('[host.'));
  });
  it('rejects endpoints that are not http(s)://host[:port]', () => {
    expect(() => renderHostsToml({ host: 'r:5000', endpoint: 'r:5000' })).toThrow(/not http/);
    expect(() => renderHostsToml({ host: 'r:5000', endpoint: 'http://r:5000/v2' })).toThrow(/not http/);
  });
  it('places the file under certs.d/<host>', () => {
    expect(hostsTomlPath('cif-registry:5000')).toBe('/etc/containerd/certs.d/cif-registry:5000/hosts.toml');
    expect(() => hostsTomlPath('../etc')).toThrow();
  });
});
