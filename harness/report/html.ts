/**
 * report.html: one self-contained page (inline CSS, inline SVG, a few lines of inline script; no CDN, no
 * network). Failing cells and rows carry class `fail`; the script adds a "failures only" filter and stamps
 * `data-rendered` on <body> so a headless-browser test can tell the page actually ran.
 */
import { xmlEscape as esc } from './junit.ts';
import { cellText, expectedText, fmtFigure, fmtTarget, matrixGrids, otherScenarios, phasesLine, runHeadline, tallies } from './summary.ts';
import type { RunResults } from '../contract/index.ts';
import { renderSvg } from './svg.ts';

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#59636e}.sim{background:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;border-radius:6px;font-weight:600}
.headline{font-size:18px;font-weight:600;margin:12px 0}.headline .bad{color:#cf222e}.headline .good{color:#1a7f37}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #d1d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.cell.pass{background:#dafbe1}td.cell.fail,tr.fail td{background:#ffebe9}
td.cell.fail{outline:2px solid #cf222e;outline-offset:-2px}
td.cell .why{display:block;color:#cf222e;font-size:12px}
td.cell .exp{display:block;color:#59636e;font-size:11px}
.fb{color:#9a6700;font-weight:600}
label.filter{display:inline-block;margin:8px 0;user-select:none}
body.only-failures tr.ok,body.only-failures td.cell.pass{opacity:.25}
footer{margin-top:32px;color:#59636e;font-size:12px}
`;

const SCRIPT = `
(function(){
  var b=document.body, box=document.getElementById('only-failures');
  box.addEventListener('change',function(){b.classList.toggle('only-failures',box.checked)});
  var cells=document.querySelectorAll('td.cell'), bad=document.querySelectorAll('td.cell.fail, tr.fail');
  document.getElementById('js-counts').textContent=cells.length+' matrix cells, '+bad.length+' failing cells and rows';
  b.setAttribute('data-rendered','yes');
})();
`;

export function renderHtml(r: RunResults): string {
  const t = tallies(r);
  const h: string[] = [];
  h.push('<!doctype html>', '<html lang="en"><head><meta charset="utf-8">', `<title>CachedIfFailed e2e ${esc(r.runId ?? r.startedAt)}</title>`);
  h.push(`<meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head><body>`);
  h.push(`<h1>CachedIfFailed e2e — ${esc(r.runId ?? r.startedAt)}</h1>`);
  h.push(`<div class="meta">Kubernetes ${esc(r.kubernetes)} · patch series ${esc(r.series)} · started ${esc(r.startedAt)} · ${Math.round(r.durationSeconds)} s</div>`);
  if (r.driver === 'simulated') h.push('<p class="sim" id="simulated">SIMULATED RUN — against the in-process contract model, not a Kubernetes cluster. Not evidence.</p>');
  h.push(`<div class="headline" id="headline"><span class="good">${t.passed} passed</span>, <span class="${t.failed ? 'bad' : 'good'}">${t.failed} failed</span></div>`);
  h.push('<label class="filter"><input type="checkbox" id="only-failures"> dim what passed</label> <span class="meta" id="js-counts"></span>');
  h.push('<p class="meta"><span class="fb">+ fallback event</span> = a <code>PullFailedUsingCached</code> event was recorded on the pod.</p>');

  for (const g of matrixGrids(r)) {
    h.push(`<h2>Matrix: ${esc(g.title)}</h2>`, `<table class="matrix" data-scenario="${esc(g.scenario)}"><thead><tr><th>fault</th><th>cached</th>`);
    for (const p of g.policies) h.push(`<th>${esc(p)}</th>`);
    h.push('</tr></thead><tbody>');
    for (const row of g.rows) {
      h.push(`<tr><th>${esc(row.fault)}</th><td>${row.cached ? 'yes' : 'no'}</td>`);
      for (const c of row.cells) {
        if (!c) {
          h.push('<td>–</td>');
          continue;
        }
        const text = esc(cellText(c)).replace('+ fallback event', '<span class="fb">+ fallback event</span>');
        h.push(
          `<td class="cell ${c.pass ? 'pass' : 'fail'}" data-id="${esc(c.id)}" title="${esc(c.source ?? '')}">${text}` +
            `<span class="exp">expected: ${esc(expectedText(c))}</span>` +
            (c.pass ? '' : `<span class="why">${esc((c.failures ?? []).join('; '))}</span>`) +
            '</td>',
        );
      }
      h.push('</tr>');
    }
    h.push('</tbody></table>');
  }

  const others = otherScenarios(r);
  if (others.length) {
    h.push('<h2>Scenarios</h2><table class="scenarios"><thead><tr><th>scenario</th><th>policy</th><th>fault</th><th>cached</th><th>expected</th><th>observed</th><th>result</th></tr></thead><tbody>');
    for (const s of others) {
      h.push(
        `<tr class="${s.pass ? 'ok' : 'fail'}" data-id="${esc(s.id)}"><td>${esc(s.id)}</td><td>${esc(s.policy)}</td><td>${esc(s.fault)}</td><td>${s.cached ? 'yes' : 'no'}</td>` +
          `<td>${esc(expectedText(s))}</td><td>${esc(cellText(s))}</td><td>${s.pass ? 'pass' : `FAIL: ${esc((s.failures ?? []).join('; '))}`}</td></tr>`,
      );
    }
    h.push('</tbody></table>');
  }

  if (r.benchmarks.length) {
    h.push('<h2>Benchmarks</h2><table class="benchmarks"><thead><tr><th>id</th><th>what</th><th>p50</th><th>p95</th><th>max</th><th>target</th><th>judged</th><th>samples</th><th>result</th></tr></thead><tbody>');
    for (const b of r.benchmarks) {
      h.push(
        `<tr class="${b.pass ? 'ok' : 'fail'}" data-id="${esc(b.id)}"><td>${esc(b.id)}</td><td>${esc(b.title ?? '')}${b.formula ? ` <code>${esc(b.formula)}</code>` : ''}` +
          `${b.reference ? `<br><small>${esc(b.reference.label)}: p50 ${b.reference.p50.toFixed(2)} s</small>` : ''}` +
          `${b.phases?.length ? `<br><small class="phases">where the time goes (p50 / p95 / max): ${esc(phasesLine(b.phases))}</small>` : ''}</td>` +
          `<td>${fmtFigure(b, b.p50)}</td><td>${fmtFigure(b, b.p95)}</td><td>${fmtFigure(b, b.max)}</td><td>${esc(fmtTarget(b))}</td><td>${esc(b.judge ?? 'p95')}</td><td>${b.samples?.length ?? 0}</td>` +
          `<td>${b.pass ? 'pass' : `FAIL: ${esc((b.failures ?? []).join('; '))}`}</td></tr>`,
      );
    }
    h.push('</tbody></table>');
    h.push(`<figure>${renderSvg(r).replace(/^<\?xml[^>]*>/, '')}</figure>`);
  }
  h.push(`<footer>${esc(runHeadline(r))} · results.json is the source of this page</footer>`);
  h.push(`<script>${SCRIPT}</script></body></html>`, '');
  return h.join('\n');
}
