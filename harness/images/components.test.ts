import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from '../lib/cache.ts';
import { pins } from '../pins.ts';
import { kubeadmImageNames } from './components.ts';
import { cniManifest } from './components-cni.ts';
import { debootstrapArgs, rootfsKey, ROOTFS } from './base.ts';

describe('kubeadmImageNames', () => {
  it('names the images as kubeadm v1.34 does', () => {
    const n = kubeadmImageNames('v1.34.4-cif.abc');
    expect(n['kube-apiserver']).toBe('registry.k8s.io/kube-apiserver:v1.34.4-cif.abc');
    expect(n['kube-proxy']).toBe('registry.k8s.io/kube-proxy:v1.34.4-cif.abc');
    expect(n.etcd).toBe(`registry.k8s.io/etcd:${pins.etcdImageTag}`);
    expect(n.coredns).toBe(`registry.k8s.io/coredns/coredns:${pins.coredns}`);
    expect(n.pause).toBe(`registry.k8s.io/pause:${pins.pause}`);
  });
  // The pins must agree with the kubeadm we build; checked against its source when the tree is materialized.
  const constants = join(cacheRoot(), 'kube-tree', pins.kubernetes, 'src/cmd/kubeadm/app/constants/constants.go');
  it.runIf(existsSync(constants))('agrees with kubeadm’s constants.go', () => {
    const src = readFileSync(constants, 'utf8');
    expect(src).toContain(`DefaultEtcdVersion = "${pins.etcdImageTag}"`);
    expect(src).toContain(`CoreDNSVersion = "${pins.coredns}"`);
    expect(src).toContain(`PauseVersion = "${pins.pause}"`);
  });
});

describe('cif-net manifest', () => {
  it('keeps kind’s template and patch markers and an env list for kind’s CONTROL_PLANE_ENDPOINT patch', () => {
    const m = cniManifest('localhost/cif/cif-net:abc');
    expect(m).toContain('# would you kindly template this file');
    expect(m).toContain('# would you kindly patch this file');
    expect(m).toContain('value: {{ .PodSubnet }}');
    expect(m).toMatch(/containers:\n {6}- name: cif-net\n {8}image: localhost\/cif\/cif-net:abc/);
    expect(m).toMatch(/ {8}env:\n/);
  });
});

describe('debian rootfs', () => {
  it('keys on the sorted package list', () => {
    const a = rootfsKey({ name: 'slim', packages: ['b', 'a'] });
    expect(rootfsKey({ name: 'slim', packages: ['a', 'b'] })).toBe(a);
    expect(rootfsKey({ name: 'slim', packages: ['a', 'b', 'c'] })).not.toBe(a);
  });
  it('runs debootstrap minbase on the pinned suite with the node packages', () => {
    const args = debootstrapArgs(ROOTFS.node, '/t');
    expect(args).toContain('--variant=minbase');
    expect(args).toContain(pins.debianSuite);
    for (const p of ['systemd', 'containerd', 'runc', 'containernetworking-plugins', 'iptables', 'conntrack']) {
      expect(args.find((a) => a.startsWith('--include='))!.split(/[=,]/)).toContain(p);
    }
  });
});
