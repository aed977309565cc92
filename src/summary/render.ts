/**
 * Pure: Summary -> text (a terminal, a mail), markdown (a chat, a ticket) or JSON.
 */
import { formatDuration } from '../duration.ts';
import { printable } from '../text.ts';
import { GAP_INTERVALS } from '../thresholds.ts';
import type { SummaryFormat } from './args.ts';
import { plural } from './findings.ts';
import type {
  Coverage,
  FailedUnit,
  Gap,
  HostSummary,
  MissingUnit,
  Summary,
  TimerFinding,
  TimerJob,
  UnitFailures,
  UnitRestarts,
} from './model.ts';
import type { SummaryWindow } from './queries.ts';

/** `2026-11-30 14:02:30 UTC`; `14:02:30` when `sameDayAs` is on the same UTC day. */
export function formatTime(seconds: number, sameDayAs?: number): string {
  const iso = new Date(Math.round(seconds) * 1000).toISOString();
  const day = iso.slice(0, 10);
  if (sameDayAs !== undefined && new Date(Math.round(sameDayAs) * 1000).toISOString().slice(0, 10) === day) {
    return `${iso.slice(11, 19)} UTC`;
  }
  return `${day} ${iso.slice(11, 19)} UTC`;
}

function percent(fraction: number): string {
  const p = Math.floor(fraction * 1000) / 10;
  return `${p}%`;
}

function describeFailed(f: FailedUnit, end: number): string {
  const status = f.exitStatus === null ? '' : `, exit status ${f.exitStatus}`;
  const since = f.failedBeforeWindow ? 'since before the window' : `since ${formatTime(f.firstFailedAt, end)}`;
  const until = f.stillFailed ? 'still failed' : `last seen failed ${formatTime(f.lastFailedAt, end)}, recovered`;
  return `${f.result || 'failed'}${status}; failed ${since}, ${until}`;
}

function describeRestarts(u: UnitRestarts, end: number): string {
  const loops = u.loops.map(
    (l) => `restart loop ${formatTime(l.from, end)} to ${formatTime(l.to, end)} (${plural(l.restarts, 'restart')})`,
  );
  return [
    `${plural(u.restarts, 'restart')}, last ${formatTime(u.lastRestartAt, end)}`,
    ...loops,
    ...(u.looping ? ['still looping'] : []),
  ].join('; ');
}

function describeTimer(t: TimerFinding, end: number): string {
  const every = t.intervalSeconds === null ? 'no repeating schedule' : `interval ${formatDuration(t.intervalSeconds)}`;
  if (t.state === 'never-fired') {
    return `never fired (${every})${t.problem ? '' : ', not judged'}`;
  }
  const last = t.lastTriggerAt === null ? 'never triggered' : `last triggered ${formatTime(t.lastTriggerAt, end)}`;
  const when = t.stillStale
    ? `stale since ${formatTime(t.staleFrom ?? end, end)}`
    : `stale ${formatTime(t.staleFrom ?? end, end)} to ${formatTime(t.staleTo ?? end, end)}, fired again`;
  return `${when}; ${last}, ${every}`;
}

function describeTimerJob(j: TimerJob, end: number): string {
  const failures = Object.entries(j.failuresByResult)
    .map(([result, n]) => `${result} ${n}`)
    .join(', ');
  const counts =
    j.runs === 0
      ? j.skipped > 0
        ? `no run in the window, ${plural(j.skipped, 'start')} skipped by an unmet condition`
        : 'no finished run in the window'
      : `${plural(j.runs, 'run')}, ${j.successes} succeeded${j.failures > 0 ? `, ${j.failures} failed (${failures})` : ''}`;
  const skipped = j.runs > 0 && j.skipped > 0 ? `, ${j.skipped} skipped by an unmet condition` : '';
  const success = j.lastSuccessAt === null ? 'no success seen' : `last success ${formatTime(j.lastSuccessAt, end)}`;
  const latest = j.lastResult !== null && j.lastResult !== 'success' && !j.problem ? `; latest run ${j.lastResult}` : '';
  const never = j.problem && j.failures > 0 ? '; failed every run in the window' : '';
  return `${j.service || '?'}: ${counts}${skipped}; ${success}${latest}${never}`;
}

function describeFailures(f: UnitFailures, end: number): string {
  const results = Object.entries(f.byResult)
    .map(([result, n]) => `${result} ${n}`)
    .join(', ');
  const last = f.lastFailureAt === null ? '' : `; last ${formatTime(f.lastFailureAt, end)}`;
  return `${plural(f.failures, 'failure')} (${results})${last}`;
}

function describeMissing(m: MissingUnit, end: number): string {
  const since = m.missingBeforeWindow ? 'before the window' : formatTime(m.firstSeenAt, end);
  return m.stillMissing
    ? `${m.loadState}, not loaded since ${since}`
    : `${m.loadState} from ${since} to ${formatTime(m.lastSeenAt, end)}, loaded again`;
}

function describeCoverage(c: Coverage, w: SummaryWindow): string {
  const runs = `${c.runs} of ${c.expectedRuns} expected runs (${percent(c.fraction)})`;
  const since = c.firstRunAt === null ? '' : `, watched since ${formatTime(c.firstRunAt, w.end)}`;
  const last = c.lastRunAt === null ? 'no run in the window' : `last run ${formatTime(c.lastRunAt, w.end)}`;
  return `${runs}${since}, ${last}`;
}

function describeGap(g: Gap, end: number): string {
  return g.ongoing
    ? `${formatDuration(g.seconds)} since ${formatTime(g.from, end)}, no run since`
    : `${formatDuration(g.seconds)} from ${formatTime(g.from, end)} to ${formatTime(g.to, end)}`;
}

interface Section<T> {
  readonly title: string;
  readonly items: readonly T[];
}

function limited<T>(items: readonly T[], limit: number): { shown: readonly T[]; more: number } {
  if (limit === 0 || items.length <= limit) return { shown: items, more: 0 };
  return { shown: items.slice(0, limit), more: items.length - limit };
}

const MORE_HINT = '(--limit 0 shows all, --format json lists all)';

function hostHeadline(h: HostSummary): string {
  const name = h.tenant === undefined ? h.host : `${h.host} (tenant ${h.tenant})`;
  if (h.noData) return `${name}: no data in the window`;
  const units = h.units === null ? '' : `, ${plural(h.units, 'unit')} watched`;
  return `${name}: ${h.problems === 0 ? 'healthy' : plural(h.problems, 'problem')}${units}`;
}

function windowLine(w: SummaryWindow): string {
  return `window ${formatTime(w.start)} to ${formatTime(w.end)}`;
}

function sectionsOf(h: HostSummary, end: number): Array<Section<[string, string]>> {
  return [
    { title: 'failed units', items: h.failed.map((f) => [f.unit, describeFailed(f, end)] as [string, string]) },
    { title: 'restarts', items: h.restarts.map((u) => [u.unit, describeRestarts(u, end)] as [string, string]) },
    { title: 'failures', items: (h.failures ?? []).map((f) => [f.unit, describeFailures(f, end)] as [string, string]) },
    {
      title: 'failed reloads',
      items: (h.failedReloads ?? []).map(
        (r) => [r.unit, `${plural(r.failed, 'reload')} failed (the unit kept running what it had before)`] as [string, string],
      ),
    },
    { title: 'timers', items: h.timers.map((t) => [t.unit, describeTimer(t, end)] as [string, string]) },
    { title: 'timer jobs', items: h.timerJobs.map((j) => [j.unit, describeTimerJob(j, end)] as [string, string]) },
    { title: 'missing units', items: h.missing.map((m) => [m.unit, describeMissing(m, end)] as [string, string]) },
  ];
}

/** The hosts a report shows in full: those with problems first, then the healthy ones only when verbose. */
function shownHosts(s: Summary, verbose: boolean): { shown: readonly HostSummary[]; healthy: readonly HostSummary[] } {
  const troubled = s.hosts.filter((h) => h.noData || h.problems > 0).sort((a, b) => b.problems - a.problems || (a.host < b.host ? -1 : 1));
  const healthy = s.hosts.filter((h) => !h.noData && h.problems === 0);
  // A one-host report is that host's report, healthy or not.
  if (verbose || s.hosts.length === 1) return { shown: [...troubled, ...healthy], healthy: [] };
  return { shown: troubled, healthy };
}

function healthyLine(healthy: readonly HostSummary[]): string {
  const names = healthy.slice(0, 10).map((h) => (h.tenant === undefined ? h.host : `${h.host} (tenant ${h.tenant})`));
  const more = healthy.length > names.length ? `, ... (--verbose lists all)` : '';
  return `${plural(healthy.length, 'other host')} healthy: ${names.join(', ')}${more}`;
}

export function renderText(s: Summary, limit: number, verbose = false): string {
  const w = s.window;
  const lines = [s.verdict, windowLine(w)];
  const { shown, healthy } = shownHosts(s, verbose);
  if (healthy.length > 0) lines.push('', healthyLine(healthy));
  for (const h of shown) {
    lines.push('', hostHeadline(h));
    if (h.noData) continue;
    const sections = sectionsOf(h, w.end);
    for (const { title, items } of sections) {
      const { shown, more } = limited(items, limit);
      lines.push(`  ${title}: ${items.length === 0 ? 'none' : items.length}`);
      for (const [unit, text] of shown) lines.push(`    ${unit}: ${text}`);
      if (more > 0) lines.push(`    ... and ${more} more ${MORE_HINT}`);
    }
    lines.push(`  exporter coverage: ${describeCoverage(h.coverage, w)}`);
    const gapTitle = `gaps over ${formatDuration(GAP_INTERVALS * w.intervalSeconds)}`;
    const { shown, more } = limited(h.coverage.gaps, limit);
    lines.push(`  ${gapTitle}: ${h.coverage.gaps.length === 0 ? 'none' : h.coverage.gaps.length}`);
    for (const g of shown) lines.push(`    ${describeGap(g, w.end)}`);
    if (more > 0) lines.push(`    ... and ${more} more ${MORE_HINT}`);
  }
  return `${lines.map(printable).join('\n')}\n`;
}

/**
 * Markdown text from values anyone who can push to VictoriaMetrics controls (unit names, results,
 * hosts): control characters escaped (no forged `## ...` line), metacharacters backslashed.
 */
function mdCell(text: string): string {
  return printable(text).replace(/[\\`*_[\]<>|~#]/g, '\\$&');
}

/** A code span that no backtick inside can end: a longer backtick fence, GFM's `\|` for pipes. */
function mdCode(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const inner = printable(text).replace(/\|/g, '\\|');
  return longest === 0 ? `${fence}${inner}${fence}` : `${fence} ${inner} ${fence}`;
}

export function renderMarkdown(s: Summary, limit: number, verbose = false): string {
  const w = s.window;
  const lines = [`**${mdCell(s.verdict)}**`, '', `_${windowLine(w)}_`];
  const { shown, healthy } = shownHosts(s, verbose);
  if (healthy.length > 0) lines.push('', mdCell(healthyLine(healthy)));
  for (const h of shown) {
    lines.push('', `### ${mdCell(hostHeadline(h))}`);
    if (h.noData) continue;
    for (const { title, items } of sectionsOf(h, w.end)) {
      const heading = `${title[0]?.toUpperCase()}${title.slice(1)}`;
      if (items.length === 0) {
        lines.push('', `**${heading}:** none`);
        continue;
      }
      const { shown, more } = limited(items, limit);
      lines.push('', `**${heading} (${items.length})**`, '', '| unit | finding |', '|---|---|');
      for (const [unit, text] of shown) lines.push(`| ${mdCode(unit)} | ${mdCell(text)} |`);
      if (more > 0) lines.push('', `… and ${more} more ${MORE_HINT}`);
    }
    lines.push('', `**Exporter coverage:** ${mdCell(describeCoverage(h.coverage, w))}`);
    const gapTitle = `Gaps over ${formatDuration(GAP_INTERVALS * w.intervalSeconds)}`;
    if (h.coverage.gaps.length === 0) lines.push('', `**${gapTitle}:** none`);
    else {
      const { shown, more } = limited(h.coverage.gaps, limit);
      lines.push('', `**${gapTitle} (${h.coverage.gaps.length})**`, '');
      for (const g of shown) lines.push(`- ${mdCell(describeGap(g, w.end))}`);
      if (more > 0) lines.push(`- … and ${more} more ${MORE_HINT}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderJson(s: Summary): string {
  return `${JSON.stringify(s, null, 2)}\n`;
}

export function renderSummary(s: Summary, format: SummaryFormat, limit: number, verbose = false): string {
  return format === 'json' ? renderJson(s) : format === 'markdown' ? renderMarkdown(s, limit, verbose) : renderText(s, limit, verbose);
}
