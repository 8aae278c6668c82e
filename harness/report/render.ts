/** Every rendered format from results.json; `cif report` re-renders these, results.json stays as written. */
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import type { RunResults } from '../contract/index.ts';
import { renderSvg } from './svg.ts';

export const RENDERED_FILES = ['junit.xml', 'report.md', 'latency.svg', 'report.html'] as const;

export function renderAll(r: RunResults): Record<(typeof RENDERED_FILES)[number], string> {
  return {
    'junit.xml': renderJunit(r),
    'report.md': renderMarkdown(r),
    'latency.svg': renderSvg(r),
    'report.html': renderHtml(r),
  };
}
