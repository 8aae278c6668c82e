import { describe, expect, it } from 'vitest';
import { criError, findImage } from './node-images.ts';

// Verbatim crictl output captured from a kind node (containerd 1.6.20) by measure-faults.ts.
const BLACKHOLE = "E1127 11:11:26.432572    2721 log.go:32] \"PullImage from image service failed\" err=\"rpc error: code = DeadlineExceeded desc = failed to pull and unpack image \\\"registry-35a672.cif.test:39679/cif/measure:v1\\\": failed to resolve reference \\\"registry-35a672.cif.test:39679/cif/measure:v1\\\": failed to do request: Head \\\"http://registry-35a672.cif.test:39679/v2/cif/measure/manifests/v1\\\": dial tcp 172.20.0.1:39679: i/o timeout\" image=\"registry-35a672.cif.test:39679/cif/measure:v1\"\ntime=\"2026-11-27T11:11:26Z\" level=fatal msg=\"pulling image: rpc error: code = DeadlineExceeded desc = failed to pull and unpack image \\\"registry-35a672.cif.test:39679/cif/measure:v1\\\": failed to resolve reference \\\"registry-35a672.cif.test:39679/cif/measure:v1\\\": failed to do request: Head \\\"http://registry-35a672.cif.test:39679/v2/cif/measure/manifests/v1\\\": dial tcp 172.20.0.1:39679: i/o timeout\"";
const HANG = "time=\"2026-11-27T11:13:15Z\" level=fatal msg=\"pulling image: interrupted: context canceled\"";

describe('criError', () => {
  it('keeps the gRPC code from the PullImage log line, unescaped', () => {
    const e = criError(BLACKHOLE);
    expect(e).toMatch(/^rpc error: code = DeadlineExceeded desc = failed to pull and unpack image "registry-[^"]+\/cif\/measure:v1": /);
    expect(e).toMatch(/dial tcp 172\.20\.0\.1:\d+: i\/o timeout$/);
  });

  it('falls back to the fatal message when there is no log line', () => {
    expect(criError(HANG)).toBe('interrupted: context canceled');
  });

  it('returns the text itself when it has neither', () => {
    expect(criError('  something else \n')).toBe('something else');
  });
});

describe('findImage', () => {
  it('finds by id, tag or digest reference', () => {
    const images = [{ id: 'sha256:1', repoTags: ['r:5000/a:v1'], repoDigests: ['r:5000/a@sha256:9'], size: 1 }];
    expect(findImage(images, 'sha256:1')).toBe(images[0]);
    expect(findImage(images, 'r:5000/a:v1')).toBe(images[0]);
    expect(findImage(images, 'r:5000/a@sha256:9')).toBe(images[0]);
    expect(findImage(images, 'r:5000/a:v2')).toBeUndefined();
  });
});
