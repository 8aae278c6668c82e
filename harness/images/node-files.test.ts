import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pins } from '../pins.ts';
import { CONTAINERD_CONFIG, ENTRYPOINT, KUBELET_CGROUPS, NODE_FILES, UNDO_MOUNTS } from './node-files.ts';

describe('node files', () => {
  it('the shell scripts parse (bash -n / sh -n)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cif-nodefiles-'));
    for (const [name, text, shell] of [
      ['entrypoint', ENTRYPOINT, 'bash'],
      ['cgroups', KUBELET_CGROUPS, 'sh'],
      ['undo', UNDO_MOUNTS, 'sh'],
    ] as const) {
      writeFileSync(join(dir, name), text);
      expect(() => execFileSync(shell, ['-n', join(dir, name)], { stdio: 'pipe' })).not.toThrow();
    }
  });

  it("the entrypoint's sed flips restrict_oom_score_adj in the shipped containerd config", () => {
    const line = ENTRYPOINT.split('\n').find((l) => l.includes("sed -i 's/^") && l.includes('restrict_oom_score_adj'))!;
    const expr = /sed -i '([^']+)'/.exec(line)![1]!;
    const dir = mkdtempSync(join(tmpdir(), 'cif-nodefiles-'));
    const f = join(dir, 'config.toml');
    writeFileSync(f, CONTAINERD_CONFIG);
    execFileSync('sed', ['-i', expr, f]);
    const out = readFileSync(f, 'utf8');
    expect(out).toMatch(/^\s*restrict_oom_score_adj = true$/m);
    expect(out).not.toMatch(/restrict_oom_score_adj = false/);
  });

  it('containerd: CRI registry config_path, the pinned pause image, systemd cgroups, Debian CNI dir', () => {
    expect(CONTAINERD_CONFIG).toContain('config_path = "/etc/containerd/certs.d"');
    expect(CONTAINERD_CONFIG).toContain(`sandbox_image = "registry.k8s.io/pause:${pins.pause}"`);
    expect(CONTAINERD_CONFIG).toContain('SystemdCgroup = true');
    expect(CONTAINERD_CONFIG).toContain('bin_dir = "/usr/lib/cni"');
  });

  it('ships the kubelet unit with kubeadm’s drop-in contract', () => {
    const dropin = NODE_FILES['etc/systemd/system/kubelet.service.d/10-kubeadm.conf']!.content;
    for (const v of ['KUBELET_KUBECONFIG_ARGS', 'KUBELET_CONFIG_ARGS', 'KUBELET_KUBEADM_ARGS', 'KUBELET_EXTRA_ARGS']) expect(dropin).toContain(`$${v}`);
    expect(dropin).toContain('EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env');
    expect(NODE_FILES['usr/local/bin/entrypoint']!.mode).toBe(0o755);
  });
});
