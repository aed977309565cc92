/**
 * The Grafana dashboard, built as a typed object and written to dashboards/systemd-heartbeat.json.
 *
 *   node --import tsx scripts/build-dashboard.ts          # rewrite the JSON
 *   node --import tsx scripts/build-dashboard.ts --check  # exit 1 when the committed JSON is stale
 *
 * Why generated: `tsc` checks the object against Grafana's own dashboard model (the types of
 * @grafana/schema, a dev dependency used for types only, nothing of it is run), every metric
 * name comes from src/metrics/definitions.ts, and every query goes through one helper that
 * adds the `${datasource}` reference. test/dashboard.test.ts checks the committed JSON is this
 * output and runs every query against a real VictoriaMetrics fed by the real exporter.
 *
 * Classic (v1) dashboard JSON, schemaVersion 39: Grafana 10.4 writes 39, and 11.x/12.x import
 * it and migrate forward on load; a higher version would be unknown to 10.x.
 */
import type { Dashboard, DataSourceRef, FieldConfigSource, Panel, RowPanel, VariableModel } from '@grafana/schema';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  FAILED_UNITS,
  HEARTBEAT_LAST_RUN,
  TIMER_INTERVAL,
  TIMER_LAST_RESULT,
  TIMER_LAST_SUCCESS,
  TIMER_LAST_TRIGGER,
  TIMER_NEXT_ELAPSE,
  TIMER_RUNS,
  UNIT_ACTIVE,
  UNIT_FAILED,
  UNIT_FAILURES,
  UNIT_LAST_EXIT_STATUS,
  UNIT_LAST_FAILURE,
  UNIT_RELOADS,
  UNIT_LOADED,
  UNIT_RESTART_COUNT,
  UNIT_SECONDS_SINCE_ACTIVE,
  UNIT_STARTS,
} from '../src/metrics/definitions.ts';

export const DASHBOARD_PATH = fileURLToPath(new URL('../dashboards/systemd-heartbeat.json', import.meta.url));

/** Stable: provisioning, links and alert annotations find the dashboard by it. */
export const DASHBOARD_UID = 'systemd-heartbeat';
export const SCHEMA_VERSION = 39;

/** Every panel and target points at the variable, never at a datasource uid of one Grafana. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** A Prometheus query as Grafana stores it in a panel's `targets`. */
export interface PromTarget {
  [key: string]: unknown;
  refId: string;
  datasource: DataSourceRef;
  expr: string;
  legendFormat: string;
  /** true: one evaluation at the end of the range (stat, table); false: a range query. */
  instant: boolean;
  range: boolean;
  format?: 'time_series' | 'table';
}

function target(refId: string, expr: string, legendFormat: string, kind: 'range' | 'instant', format?: 'table'): PromTarget {
  return {
    refId,
    datasource: DATASOURCE,
    expr,
    legendFormat,
    instant: kind === 'instant',
    range: kind === 'range',
    ...(format ? { format } : {}),
  };
}

// Label matchers. `=~` because host and unit are multi-value: Grafana turns a selection into
// an escaped regex `(a|b)`, and a repeated row's single value into an escaped regex too.
const HOST = 'host=~"$host"';
const HOST_UNIT = 'host=~"$host", unit=~"$unit"';
const sel = (metric: string, matchers: string): string => `${metric}{${matchers}}`;

/**
 * Only the series of each unit's newest push. A label that carries a state (result,
 * load_state) starts a new series when the state changes, and an instant query still sees the
 * old one for the lookback (5 min): without this a recovered unit would stay "failed" in the
 * table and show two Results. Every series of one push has the same timestamp.
 */
function latest(selector: string, stateLabel: string): string {
  return `(${selector} and on (unit, host, ${stateLabel}) (timestamp(${selector}) == on (unit, host) group_left max by (unit, host) (timestamp(${selector}))))`;
}

type Thresholds = NonNullable<NonNullable<FieldConfigSource['defaults']>['thresholds']>;
function thresholds(...steps: Array<[number | null, string]>): Thresholds {
  return { mode: 'absolute' as Thresholds['mode'], steps: steps.map(([value, color]) => ({ value, color })) };
}

type FieldColorMode = NonNullable<FieldConfigSource['defaults']['color']>['mode'];
type Mappings = NonNullable<FieldConfigSource['defaults']['mappings']>;
/** Exact value -> text and colour (the `value` mapping type). */
function valueText(entries: Record<string, [string, string]>): Mappings {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  Object.entries(entries).forEach(([value, [text, color]], index) => {
    options[value] = { text, color, index };
  });
  return [{ type: 'value' as Mappings[number]['type'], options } as Mappings[number]];
}

/** Inactive is not an alarm (a oneshot between runs is inactive): failures have their own panels. */
const ACTIVE_MAPPING = valueText({ '1': ['active', 'green'], '0': ['inactive', 'blue'] });

interface PanelSpec {
  title: string;
  description: string;
  type: 'stat' | 'timeseries' | 'state-timeline' | 'table';
  gridPos: { x: number; y: number; w: number; h: number };
  targets: PromTarget[];
  fieldConfig?: FieldConfigSource;
  options?: Record<string, unknown>;
  transformations?: Panel['transformations'];
}

let nextId = 1;
function panel(spec: PanelSpec): Panel {
  return {
    id: nextId++,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos: spec.gridPos,
    targets: spec.targets,
    fieldConfig: spec.fieldConfig ?? { defaults: {}, overrides: [] },
    options: spec.options ?? {},
    ...(spec.transformations ? { transformations: spec.transformations } : {}),
  };
}

function row(title: string, y: number, repeat?: string): RowPanel {
  return {
    id: nextId++,
    type: 'row',
    title,
    collapsed: false,
    datasource: DATASOURCE,
    gridPos: { x: 0, y, w: 24, h: 1 },
    panels: [],
    ...(repeat ? { repeat } : {}),
  };
}

const statOptions = (textMode: 'value' | 'value_and_name'): Record<string, unknown> => ({
  reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
  colorMode: 'background',
  graphMode: 'none',
  justifyMode: 'auto',
  orientation: 'auto',
  textMode,
  showPercentChange: false,
  wideLayout: true,
});

const legendAndTooltip = {
  legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] },
  tooltip: { mode: 'multi', sort: 'none' },
};

function overview(): Array<Panel | RowPanel> {
  const y = 1;
  return [
    row('Overview', 0),
    panel({
      title: 'Failed units now',
      description: 'All failed units on the selected hosts, allowlisted or not (list-units, ActiveState=failed).',
      type: 'stat',
      gridPos: { x: 0, y, w: 4, h: 5 },
      targets: [target('A', `sum(${sel(FAILED_UNITS.name, HOST)})`, 'failed units', 'instant')],
      fieldConfig: { defaults: { unit: 'none', decimals: 0, thresholds: thresholds([null, 'green'], [1, 'red']) }, overrides: [] },
      options: statOptions('value'),
    }),
    panel({
      title: 'Units not loaded',
      description:
        'Allowlisted units whose LoadState is not "loaded" (not-found, masked, bad-setting, error): a typo or a removed unit file.',
      type: 'stat',
      gridPos: { x: 4, y, w: 4, h: 5 },
      targets: [target('A', `sum(1 - ${latest(sel(UNIT_LOADED.name, HOST), 'load_state')})`, 'not loaded', 'instant')],
      fieldConfig: { defaults: { unit: 'none', decimals: 0, thresholds: thresholds([null, 'green'], [1, 'orange']) }, overrides: [] },
      options: statOptions('value'),
    }),
    panel({
      title: 'Restarts in range',
      description:
        'Automatic restarts (NRestarts) of allowlisted services during the selected time range; increase() sees through a reset by a manual start. A unit first seen inside the range counts from 0 (VictoriaMetrics).',
      type: 'stat',
      gridPos: { x: 8, y, w: 4, h: 5 },
      targets: [target('A', `sum(increase(${sel(UNIT_RESTART_COUNT.name, HOST)}[$__range]))`, 'restarts', 'instant')],
      fieldConfig: { defaults: { unit: 'none', decimals: 0, thresholds: thresholds([null, 'green'], [1, 'orange']) }, overrides: [] },
      options: statOptions('value'),
    }),
    panel({
      title: 'Stale timers',
      description: 'Timers that last triggered longer ago than twice their own interval (systemd_timer_interval_seconds).',
      type: 'stat',
      gridPos: { x: 12, y, w: 4, h: 5 },
      targets: [
        target(
          'A',
          `sum(${sel(UNIT_SECONDS_SINCE_ACTIVE.name, HOST)} > bool on (unit, host) 2 * ${sel(TIMER_INTERVAL.name, HOST)})`,
          'stale timers',
          'instant',
        ),
      ],
      fieldConfig: { defaults: { unit: 'none', decimals: 0, thresholds: thresholds([null, 'green'], [1, 'red']) }, overrides: [] },
      options: statOptions('value'),
    }),
    panel({
      title: 'Exporter heartbeat age',
      description:
        'Seconds since each host last pushed (the exporter runs every 30 s). A host that stopped pushing keeps showing its age for the whole range.',
      type: 'stat',
      gridPos: { x: 16, y, w: 8, h: 5 },
      targets: [
        target('A', `time() - max by (host) (last_over_time(${sel(HEARTBEAT_LAST_RUN.name, HOST)}[$__range]))`, '{{host}}', 'instant'),
      ],
      fieldConfig: {
        defaults: { unit: 's', decimals: 0, thresholds: thresholds([null, 'green'], [90, 'orange'], [300, 'red']) },
        overrides: [],
      },
      options: statOptions('value_and_name'),
    }),
    panel({
      title: 'Failed units now (with Result)',
      description:
        'Every unit systemd reports as failed on the selected hosts, with its Result (exit-code, signal, core-dump, timeout, start-limit-hit, oom-kill, ...).',
      type: 'table',
      gridPos: { x: 0, y: y + 5, w: 24, h: 6 },
      targets: [target('A', `${latest(sel(UNIT_FAILED.name, HOST), 'result')} == 1`, '', 'instant', 'table')],
      fieldConfig: { defaults: { noValue: 'no failed units' }, overrides: [] },
      options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
      transformations: [
        {
          id: 'organize',
          options: {
            excludeByName: { Time: true, Value: true, __name__: true },
            indexByName: { host: 0, unit: 1, result: 2 },
            renameByName: { host: 'Host', unit: 'Unit', result: 'Result' },
          },
        },
      ],
    }),
  ];
}

/** Unix seconds -> the milliseconds Grafana's date units expect. */
const ms = (expr: string): string => `${expr} * 1000`;

/**
 * One row per timer: the instant queries below return one frame each, keyed by host and unit,
 * and the `merge` transformation joins them into rows (`Value #A` is query A's value, ...).
 */
function timersTable(y: number): Panel {
  const byTimer = (expr: string): string => `max by (host, unit) (${expr})`;
  const runs = (matchers: string): string => `sum by (host, unit) (increase(${sel(TIMER_RUNS.name, matchers)}[$__range]))`;
  const date = (name: string): { matcher: { id: string; options: string }; properties: Array<{ id: string; value: unknown }> } => ({
    matcher: { id: 'byName', options: name },
    properties: [{ id: 'unit', value: 'dateTimeFromNow' }],
  });
  return panel({
    title: 'Timers',
    description:
      "One row per timer: when it last triggered and fires next (empty: it will not fire again), when its job last succeeded (remembered by the exporter across failures), the Result of the job's latest finished run, the timer's interval, and the job's finished runs and failed runs in the time range (counted from PID 1's journal entries, so also the runs between two pushes).",
    type: 'table',
    gridPos: { x: 0, y, w: 24, h: 8 },
    targets: [
      target('A', ms(byTimer(sel(TIMER_LAST_TRIGGER.name, HOST))), '', 'instant', 'table'),
      target('B', ms(byTimer(sel(TIMER_NEXT_ELAPSE.name, HOST))), '', 'instant', 'table'),
      target('C', ms(byTimer(sel(TIMER_LAST_SUCCESS.name, HOST))), '', 'instant', 'table'),
      // Only the newest push's result: the previous result's series lingers for the lookback.
      target('D', latest(sel(TIMER_LAST_RESULT.name, HOST), 'result'), '', 'instant', 'table'),
      target('E', byTimer(sel(TIMER_INTERVAL.name, HOST)), '', 'instant', 'table'),
      target('F', runs(HOST), '', 'instant', 'table'),
      // A job that never failed has no failed-result series: 0 from its success counter instead.
      target(
        'G',
        `${runs(`${HOST}, result!="success"`)} or sum by (host, unit) (0 * ${sel(TIMER_RUNS.name, HOST)})`,
        '',
        'instant',
        'table',
      ),
    ],
    fieldConfig: {
      defaults: { noValue: '-' },
      overrides: [
        date('Last trigger'),
        date('Next elapse'),
        date('Last success'),
        { matcher: { id: 'byName', options: 'Interval' }, properties: [{ id: 'unit', value: 's' }] },
        { matcher: { id: 'byName', options: 'Runs in range' }, properties: [{ id: 'decimals', value: 0 }] },
        {
          matcher: { id: 'byName', options: 'Failures in range' },
          properties: [
            { id: 'decimals', value: 0 },
            { id: 'thresholds', value: thresholds([null, 'green'], [1, 'red']) },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ],
        },
        {
          matcher: { id: 'byName', options: 'Last result' },
          properties: [
            { id: 'mappings', value: [{ type: 'regex', options: { pattern: '^(?!success$).+', result: { color: 'red', index: 0 } } }] },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ],
        },
      ],
    },
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
    transformations: [
      { id: 'merge', options: {} },
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true, 'Value #D': true, __name__: true },
          indexByName: {
            host: 0,
            unit: 1,
            service: 2,
            'Value #A': 3,
            'Value #B': 4,
            'Value #C': 5,
            result: 6,
            'Value #E': 7,
            'Value #F': 8,
            'Value #G': 9,
          },
          renameByName: {
            host: 'Host',
            unit: 'Timer',
            service: 'Job',
            'Value #A': 'Last trigger',
            'Value #B': 'Next elapse',
            'Value #C': 'Last success',
            result: 'Last result',
            'Value #E': 'Interval',
            'Value #F': 'Runs in range',
            'Value #G': 'Failures in range',
          },
        },
      },
    ],
  });
}

/**
 * One row per unit that failed in the range: when it last failed, the result of that failure
 * (the failures series that changed last), how often it failed, and its failed reloads. From
 * the journal's failure entries, so also the crashes Restart= recovered between two pushes.
 */
function recentFailures(y: number): Panel {
  const failures = sel(UNIT_FAILURES.name, HOST);
  const reloadsFailed = `sum by (host, unit) (increase(${sel(UNIT_RELOADS.name, `${HOST}, result!="done"`)}[$__range]))`;
  return panel({
    title: 'Recent failures',
    description:
      "Units that failed in the time range: the time and result of the latest failure (remembered by the exporter; systemd forgets it at the next start), the failures in the range by PID 1's journal (crashes Restart= recovered within a push included), and the reloads that failed (ExecReload= exited non-zero: the unit still runs the old configuration).",
    type: 'table',
    gridPos: { x: 0, y, w: 24, h: 7 },
    targets: [
      target('A', ms(`max by (host, unit) (last_over_time(${sel(UNIT_LAST_FAILURE.name, HOST)}[$__range]))`), '', 'instant', 'table'),
      // The result label of the series that grew last; its value (a time) is not shown.
      target('B', `topk by (host, unit) (1, tlast_change_over_time(${failures}[$__range]))`, '', 'instant', 'table'),
      target('C', `sum by (host, unit) (increase(${failures}[$__range]))`, '', 'instant', 'table'),
      // A unit that never failed a reload has no such series: 0 from its failures instead.
      target('D', `${reloadsFailed} or sum by (host, unit) (0 * ${failures})`, '', 'instant', 'table'),
    ],
    fieldConfig: {
      defaults: { noValue: 'no failures' },
      overrides: [
        { matcher: { id: 'byName', options: 'Last failure' }, properties: [{ id: 'unit', value: 'dateTimeFromNow' }] },
        { matcher: { id: 'byName', options: 'Failures in range' }, properties: [{ id: 'decimals', value: 0 }] },
        {
          matcher: { id: 'byName', options: 'Failed reloads in range' },
          properties: [
            { id: 'decimals', value: 0 },
            { id: 'thresholds', value: thresholds([null, 'green'], [1, 'red']) },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ],
        },
      ],
    },
    options: {
      showHeader: true,
      cellHeight: 'sm',
      footer: { show: false, reducer: ['sum'], fields: '' },
      sortBy: [{ displayName: 'Last failure', desc: true }],
    },
    transformations: [
      { id: 'merge', options: {} },
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true, 'Value #B': true, __name__: true },
          indexByName: { host: 0, unit: 1, 'Value #A': 2, result: 3, 'Value #C': 4, 'Value #D': 5 },
          renameByName: {
            host: 'Host',
            unit: 'Unit',
            'Value #A': 'Last failure',
            result: 'Result',
            'Value #C': 'Failures in range',
            'Value #D': 'Failed reloads in range',
          },
        },
      },
    ],
  });
}

/** One row per selected unit (Grafana repeats the row and its panels for each value of $unit). */
function perUnit(y0: number): Array<Panel | RowPanel> {
  const y = y0 + 1;
  return [
    row('$unit', y0, 'unit'),
    panel({
      title: 'State and sub-state',
      description:
        'One lane per SubState (running, exited, auto-restart, dead, failed, ...), drawn where a push in that step saw it; active = ActiveState=active.',
      type: 'state-timeline',
      gridPos: { x: 0, y, w: 12, h: 7 },
      // Over $__interval (at least the push period, the data source's scrape interval) rather
      // than the lookback: a sub-state the unit left stops at the next step instead of
      // lingering for 5 minutes beside the new one.
      targets: [target('A', `last_over_time(${sel(UNIT_ACTIVE.name, HOST_UNIT)}[$__interval])`, '{{host}} {{sub_state}}', 'range')],
      fieldConfig: {
        defaults: {
          mappings: ACTIVE_MAPPING,
          color: { mode: 'thresholds' as FieldColorMode },
          thresholds: thresholds([null, 'blue'], [1, 'green']),
        },
        overrides: [],
      },
      options: { showValue: 'auto', mergeValues: true, alignValue: 'left', rowHeight: 0.9, ...legendAndTooltip },
    }),
    panel({
      title: 'Seconds since active',
      description:
        '0 while active; otherwise seconds since the unit was last active (a timer: since it last triggered). For a timer the dashed line is twice its own interval: above it the timer is stale.',
      type: 'timeseries',
      gridPos: { x: 12, y, w: 12, h: 7 },
      targets: [
        target('A', sel(UNIT_SECONDS_SINCE_ACTIVE.name, HOST_UNIT), '{{host}} seconds since active', 'range'),
        target('B', `2 * ${sel(TIMER_INTERVAL.name, HOST_UNIT)}`, '{{host}} stale threshold (2x interval)', 'range'),
      ],
      fieldConfig: {
        defaults: { unit: 's', min: 0, custom: { drawStyle: 'line', lineWidth: 2, fillOpacity: 0, showPoints: 'auto' } },
        overrides: [
          {
            matcher: { id: 'byFrameRefID', options: 'B' },
            properties: [
              { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
              { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
            ],
          },
        ],
      },
      options: legendAndTooltip,
    }),
    panel({
      title: 'Restart count (NRestarts) and starts',
      description:
        'NRestarts: automatic Restart= restarts systemd counted; it resets on a manual start or reset-failed (systemd#6495). Starts: every start the exporter saw (a new InvocationID between two runs), manual or by a timer; it never resets.',
      type: 'timeseries',
      gridPos: { x: 0, y: y + 7, w: 8, h: 7 },
      targets: [
        target('A', sel(UNIT_RESTART_COUNT.name, HOST_UNIT), '{{host}} NRestarts', 'range'),
        target('B', sel(UNIT_STARTS.name, HOST_UNIT), '{{host}} starts seen', 'range'),
      ],
      fieldConfig: {
        defaults: { unit: 'none', decimals: 0, min: 0, custom: { drawStyle: 'line', lineInterpolation: 'stepAfter', lineWidth: 2 } },
        overrides: [],
      },
      options: legendAndTooltip,
    }),
    panel({
      title: 'Restarts and failures per interval',
      description:
        "Restarts (NRestarts), starts and failures (by result, from PID 1's journal: also the crashes Restart= recovered between two pushes) within each step of the graph ($__interval, at least the push period); VictoriaMetrics counts from the sample before each window.",
      type: 'timeseries',
      gridPos: { x: 8, y: y + 7, w: 8, h: 7 },
      targets: [
        target('A', `increase(${sel(UNIT_RESTART_COUNT.name, HOST_UNIT)}[$__interval])`, '{{host}} restarts', 'range'),
        target('B', `increase(${sel(UNIT_STARTS.name, HOST_UNIT)}[$__interval])`, '{{host}} starts', 'range'),
        target('C', `increase(${sel(UNIT_FAILURES.name, HOST_UNIT)}[$__interval])`, '{{host}} failures {{result}}', 'range'),
      ],
      fieldConfig: {
        defaults: { unit: 'none', decimals: 0, min: 0, custom: { drawStyle: 'bars', fillOpacity: 60, lineWidth: 1 } },
        overrides: [],
      },
      options: legendAndTooltip,
    }),
    panel({
      title: 'Last exit status, Result, LoadState, last failure',
      description:
        "ExecMainStatus of the last exit (0 = clean; a signal number after a kill), whether the unit is failed with its Result, its LoadState, and when it last failed (with that failure's result; empty when it has not failed since the exporter watches it).",
      type: 'stat',
      gridPos: { x: 16, y: y + 7, w: 8, h: 7 },
      targets: [
        target('A', sel(UNIT_LAST_EXIT_STATUS.name, HOST_UNIT), '{{host}} exit status', 'instant'),
        target('B', latest(sel(UNIT_FAILED.name, HOST_UNIT), 'result'), '{{host}} Result={{result}}', 'instant'),
        target('C', latest(sel(UNIT_LOADED.name, HOST_UNIT), 'load_state'), '{{host}} LoadState={{load_state}}', 'instant'),
        target(
          'D',
          `${ms(`last_over_time(${sel(UNIT_LAST_FAILURE.name, HOST_UNIT)}[$__range])`)} + on (host, unit) group_left (result) (0 * topk by (host, unit) (1, tlast_change_over_time(${sel(UNIT_FAILURES.name, HOST_UNIT)}[$__range])))`,
          '{{host}} last failure ({{result}})',
          'instant',
        ),
      ],
      fieldConfig: {
        defaults: { unit: 'none', decimals: 0, thresholds: thresholds([null, 'green'], [1, 'red']) },
        overrides: [
          {
            matcher: { id: 'byFrameRefID', options: 'B' },
            properties: [{ id: 'mappings', value: valueText({ '0': ['not failed', 'green'], '1': ['FAILED', 'red'] }) }],
          },
          {
            matcher: { id: 'byFrameRefID', options: 'C' },
            properties: [
              { id: 'mappings', value: valueText({ '1': ['loaded', 'green'], '0': ['NOT LOADED', 'red'] }) },
              { id: 'thresholds', value: thresholds([null, 'red'], [1, 'green']) },
            ],
          },
          {
            matcher: { id: 'byFrameRefID', options: 'D' },
            properties: [
              { id: 'unit', value: 'dateTimeFromNow' },
              { id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } },
            ],
          },
        ],
      },
      options: statOptions('value_and_name'),
    }),
  ];
}

function queryVariable(name: string, label: string, query: string, description: string): VariableModel {
  return {
    type: 'query',
    name,
    label,
    description,
    datasource: DATASOURCE,
    query,
    refresh: 2, // on time range change: units come and go
    multi: true,
    includeAll: true,
    sort: 1,
    hide: 0,
    options: [],
  };
}

export function buildDashboard(): Dashboard {
  nextId = 1;
  const top = overview();
  const timers = timersTable(12);
  const failures = recentFailures(20);
  const bottom = perUnit(27);
  return {
    uid: DASHBOARD_UID,
    title: 'systemd heartbeat',
    description: 'systemd unit and timer health pushed by systemd-heartbeat (one row per selected unit).',
    tags: ['systemd', 'systemd-heartbeat'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    refresh: '30s',
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    annotations: { list: [] },
    templating: {
      list: [
        {
          type: 'datasource',
          name: 'datasource',
          label: 'Data source',
          description: 'A Prometheus-type data source pointing at the VictoriaMetrics the exporter pushes to.',
          query: 'prometheus',
          regex: '',
          hide: 0,
          refresh: 1,
          options: [],
        },
        queryVariable('host', 'Host', `label_values(${HEARTBEAT_LAST_RUN.name}, host)`, 'Hosts that ran the exporter in the time range.'),
        queryVariable(
          'unit',
          'Unit',
          `label_values(${UNIT_LOADED.name}{host=~"$host"}, unit)`,
          'Allowlisted units of the selected hosts, loaded or not; each gets its own row.',
        ),
      ],
    },
    panels: [...top, timers, failures, ...bottom],
  };
}

/** The committed file's exact text: 2-space JSON and a final newline. */
export function renderDashboardJson(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderDashboardJson();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(DASHBOARD_PATH, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      process.stderr.write(`${DASHBOARD_PATH} is stale: run node --import tsx scripts/build-dashboard.ts\n`);
      process.exitCode = 1;
    }
  } else {
    writeFileSync(DASHBOARD_PATH, text);
    process.stdout.write(`wrote ${DASHBOARD_PATH}\n`);
  }
}
