/**
 * latency.svg, hand-written: one row per benchmark with every sample as a dot, the p50 and p95 as ticks, the
 * target as a red line, and the baseline / reference samples in grey beneath. Each row has its own scale
 * (seconds and ratios don't share an axis). No dependencies.
 */
import { xmlEscape } from './junit.ts';
import type { BenchmarkResult, RunResults } from '../contract/index.ts';

const W = 760;
const ROW = 64;
const LEFT = 190;
const RIGHT = 30;

export function renderSvg(r: RunResults): string {
  const rows = r.benchmarks;
  const h = 40 + Math.max(1, rows.length) * ROW + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="benchmark latency">`,
    `<title>CachedIfFailed benchmarks${r.runId ? ` — ${xmlEscape(r.runId)}` : ''}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">Start-up latency by benchmark (dots: samples; | p50, ‖ p95; red: target)</text>`,
  ];
  if (rows.length === 0) parts.push(`<text x="10" y="56" fill="#666">no benchmarks in this run</text>`);
  rows.forEach((b, i) => parts.push(row(b, 40 + i * ROW)));
  parts.push('</svg>', '');
  return parts.join('\n');
}

function row(b: BenchmarkResult, y: number): string {
  const subject = b.samples ?? [];
  const below = b.reference?.samples ?? b.baseline?.samples ?? [];
  // a difference/ratio's target is not on the samples' scale: draw the target where the samples would meet it
  const targetAt = b.unit === 's' && b.formula?.includes(' - ') ? b.target + (b.baseline?.p50 ?? 0) : b.unit === 'ratio' ? b.target * (b.baseline?.p50 ?? 1) : b.target;
  const all = [...subject, ...below, targetAt].filter(Number.isFinite);
  const max = Math.max(1e-9, ...all) * 1.1;
  const x = (v: number) => LEFT + (v / max) * (W - LEFT - RIGHT);
  const color = b.pass ? '#1a7f37' : '#cf222e';
  const out: string[] = [`<g class="bench" data-id="${xmlEscape(b.id)}" data-pass="${b.pass}">`];
  out.push(`<text x="10" y="${y + 18}" font-weight="bold" fill="${color}">${xmlEscape(b.id)} ${b.pass ? '✓' : '✗'}</text>`);
  out.push(`<text x="10" y="${y + 34}" fill="#555">${xmlEscape(describe(b))}</text>`);
  out.push(`<line x1="${LEFT}" y1="${y + 22}" x2="${W - RIGHT}" y2="${y + 22}" stroke="#ddd"/>`);
  for (const v of subject) out.push(`<circle cx="${x(v).toFixed(1)}" cy="${y + 22}" r="3.5" fill="${color}" fill-opacity="0.6"><title>${v.toFixed(3)} s</title></circle>`);
  for (const v of below) out.push(`<circle cx="${x(v).toFixed(1)}" cy="${y + 38}" r="3" fill="#888" fill-opacity="0.6"><title>${v.toFixed(3)} s (${xmlEscape(b.reference?.label ?? b.baseline?.label ?? 'baseline')})</title></circle>`);
  const p50 = percentileOf(subject, 50);
  const p95 = percentileOf(subject, 95);
  if (Number.isFinite(p50)) out.push(`<line x1="${x(p50).toFixed(1)}" y1="${y + 12}" x2="${x(p50).toFixed(1)}" y2="${y + 32}" stroke="#000" stroke-width="2"/>`);
  if (Number.isFinite(p95)) out.push(`<line x1="${(x(p95) - 2).toFixed(1)}" y1="${y + 12}" x2="${(x(p95) - 2).toFixed(1)}" y2="${y + 32}" stroke="#000"/><line x1="${(x(p95) + 2).toFixed(1)}" y1="${y + 12}" x2="${(x(p95) + 2).toFixed(1)}" y2="${y + 32}" stroke="#000"/>`);
  if (Number.isFinite(targetAt)) out.push(`<line class="target" x1="${x(targetAt).toFixed(1)}" y1="${y + 6}" x2="${x(targetAt).toFixed(1)}" y2="${y + 46}" stroke="#cf222e" stroke-dasharray="4 2"/>`);
  out.push(`<text x="${W - RIGHT}" y="${y + 52}" text-anchor="end" fill="#888">0 – ${max.toFixed(max < 10 ? 2 : 0)} s</text>`);
  out.push('</g>');
  return out.join('');
}

function describe(b: BenchmarkResult): string {
  const f = (v: number) => (b.unit === 'ratio' ? `${v.toFixed(3)}×` : `${v.toFixed(2)} s`);
  return `${b.judge ?? 'p95'} ${f(b[b.judge ?? 'p95'] ?? NaN)} vs ≤ ${b.unit === 'ratio' ? `${b.target}×` : `${b.target} s`}`;
}

function percentileOf(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  return s[lo]! + (s[Math.ceil(rank)]! - s[lo]!) * (rank - lo);
}
