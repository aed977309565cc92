/**
 * A tick shows only the units that may have changed (src/systemd/changes.ts): the plan itself,
 * and ticks against a small model of systemd whose units change between ticks, each compared
 * with what showing every unit would have given. What the detectors rest on was measured on the
 * real systemd 252 (test/changes-live.test.ts runs the same changes there).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeShowCache } from '../src/state/show-cache.ts';
import { type Detectors, type ShowCache, bootFromClock, nextCache, planShow, sameBoot, showAfterJournal } from '../src/systemd/changes.ts';
import { type Collection, collect } from '../src/systemd/collect.ts';
import { RELOAD_DONE_MESSAGE_ID, SUCCESS_MESSAGE_ID } from '../src/systemd/journal.ts';
import type { ListedUnit } from '../src/systemd/parse.ts';
import type { TimerStatus, UnitStatus } from '../src/systemd/unit.ts';

const BOOT = 'b0000000000000000000000000000001';

function status(id: string, over: Partial<UnitStatus> = {}): UnitStatus {
  return {
    id,
    names: [id],
    loadState: 'loaded',
    activeState: 'active',
    subState: 'running',
    result: 'success',
    nRestarts: 0,
    execMainStatus: 0,
    execMainExitMonotonic: undefined,
    inactiveExitMonotonic: 10,
    activeExitMonotonic: undefined,
    invocationId: 'a'.repeat(32),
    timer: undefined,
    ...over,
  };
}

function timer(over: Partial<TimerStatus>): TimerStatus {
  return {
    unit: undefined,
    lastTriggerRealtime: undefined,
    lastTriggerMonotonic: undefined,
    nextElapseRealtime: undefined,
    nextElapseMonotonic: undefined,
    intervalSeconds: 60,
    ...over,
  };
}

const listedOf = (units: UnitStatus[]): Map<string, ListedUnit> =>
  new Map(units.map((u) => [u.id, { unit: u.id, load: u.loadState, active: u.activeState, sub: u.subState }]));

function detectors(over: Partial<Detectors> = {}): Detectors {
  return {
    listed: new Map(),
    invocations: new Map(),
    bootId: BOOT,
    monotonic: 100,
    realtime: 1_700_000_000,
    fullShowSeconds: 300,
    journal: true,
    ...over,
  };
}

test('every unit is shown when there is nothing to trust: no cache, 0 s, no journal, list-units or links unreadable, another boot, the period over', () => {
  const cache: ShowCache = { bootId: BOOT, fullAt: 50, statuses: { 'a.service': status('a.service') } };
  const wanted = ['a.service'];
  const none = new Set<string>();
  const why = (c: ShowCache | undefined, d: Detectors) => {
    const plan = planShow(wanted, none, c, d);
    return plan.full ? `${plan.why}${plan.keep ? ' [kept]' : ''}` : 'partial';
  };
  const listed = listedOf([status('a.service')]);
  assert.equal(why(cache, detectors({ listed })), 'partial');
  // Records are kept only where the next tick can use them: not with 0 s, no journal or no links (no write each tick for nothing).
  assert.equal(why(undefined, detectors({ listed })), 'no record of a previous show [kept]');
  assert.match(why(cache, detectors({ listed, fullShowSeconds: 0 })), /every tick[^[]*$/);
  assert.match(why(cache, detectors({ listed, journal: false })), /journal[^[]*$/);
  assert.match(why(cache, detectors({ listed: undefined })), /list-units[^[]*$/);
  assert.match(why(cache, detectors({ listed, invocations: undefined })), /invocation links[^[]*$/);
  assert.match(why(undefined, detectors({ listed, invocations: undefined })), /invocation links[^[]*$/);
  assert.equal(why(cache, detectors({ listed, bootId: 'another' })), 'another boot [kept]');
  assert.equal(why(cache, detectors({ listed, bootId: undefined })), 'another boot');
  assert.equal(why(cache, detectors({ listed, monotonic: 350 })), 'the periodic full show [kept]');
  // A clock that went back (a cache from another boot with the same id would be a forged one) is not trusted either.
  assert.match(why(cache, detectors({ listed, monotonic: 40 })), /periodic/);
});

test('without the kernel boot id, the clocks tell the boot: within 2 s the same, further apart another', () => {
  const boot = bootFromClock({ monotonic: 1000.4, realtime: 1_700_001_000.9 });
  assert.equal(boot, 'clock:1700000001');
  assert.ok(sameBoot(boot, bootFromClock({ monotonic: 1030, realtime: 1_700_001_032 })));
  assert.ok(!sameBoot(boot, bootFromClock({ monotonic: 5, realtime: 1_700_001_040 })), 'a reboot 34 s later');
  assert.ok(!sameBoot(boot, BOOT));
  const cache: ShowCache = { bootId: boot, fullAt: 50, statuses: { 'a.service': status('a.service') } };
  const listed = listedOf([status('a.service')]);
  assert.equal(planShow(['a.service'], new Set(), cache, detectors({ listed, bootId: 'clock:1700000003' })).full, false);
  assert.equal(planShow(['a.service'], new Set(), cache, detectors({ listed, bootId: 'clock:1700000004' })).full, true);
});

test('a partial show: changed state, another invocation, no record, timers and jobs; not a unit PID 1 let go inactive', () => {
  const kept = {
    'same.service': status('same.service'),
    'state.service': status('state.service'),
    'restarted.service': status('restarted.service'),
    'stopped.service': status('stopped.service'),
    'gone-inactive.service': status('gone-inactive.service', { activeState: 'inactive', subState: 'dead' }),
    'notfound.service': status('notfound.service', { loadState: 'not-found', activeState: 'inactive', subState: 'dead' }),
    // An alias is found by its id in list-units and the links.
    'alias.service': status('real.service', { names: ['real.service', 'alias.service'] }),
    // Timers: shown once their next elapse has come (either clock), or with their job.
    'waiting.timer': status('waiting.timer', { subState: 'waiting', timer: timer({ nextElapseRealtime: 1_700_000_030 }) }),
    'due.timer': status('due.timer', { subState: 'waiting', timer: timer({ nextElapseRealtime: 1_700_000_000 }) }),
    'due-monotonic.timer': status('due-monotonic.timer', { subState: 'waiting', timer: timer({ nextElapseMonotonic: 99 }) }),
    'jobmoved.timer': status('jobmoved.timer', {
      subState: 'waiting',
      timer: timer({ unit: 'moved.service', nextElapseRealtime: 1_800_000_000 }),
    }),
    'moved.service': status('moved.service'),
    'failed-elsewhere.service': status('failed-elsewhere.service', { activeState: 'failed', subState: 'failed' }),
  };
  const cache: ShowCache = { bootId: BOOT, fullAt: 90, statuses: kept };
  const now = [
    status('same.service'),
    status('state.service', { subState: 'reloading' }),
    status('restarted.service'),
    status('real.service'),
    ...['waiting.timer', 'due.timer', 'due-monotonic.timer', 'jobmoved.timer'].map((t) => status(t, { subState: 'waiting' })),
    status('moved.service', { activeState: 'activating', subState: 'start' }),
    status('failed-elsewhere.service', { activeState: 'failed', subState: 'failed' }),
  ];
  const wanted = [...Object.keys(kept), 'new.service'];
  const plan = planShow(
    wanted,
    new Set(['failed-elsewhere.service']),
    cache,
    detectors({
      listed: listedOf(now),
      invocations: new Map([
        ['same.service', 'a'.repeat(32)],
        ['restarted.service', 'b'.repeat(32)],
        ['real.service', 'a'.repeat(32)],
      ]),
    }),
  );
  assert.equal(plan.full, false);
  assert.deepEqual(!plan.full && plan.names, [
    'state.service',
    'restarted.service',
    'stopped.service',
    'notfound.service',
    'due.timer',
    'due-monotonic.timer',
    'moved.service',
    'failed-elsewhere.service',
    'new.service',
    'jobmoved.timer',
  ]);
});

test('after the journal: every unit it names (by id too, again if shown) and their timers, everything left when it could not be read whole', () => {
  const wanted = ['a.service', 'alias.service', 'c.service', 'a.timer'];
  const statusOf = (n: string) =>
    n === 'alias.service' ? status('real.service') : n === 'a.timer' ? status('a.timer', { timer: timer({}) }) : undefined;
  const reading = (units: string[], more = {}) => ({ readable: true, runs: [], capped: false, units, ...more });
  assert.deepEqual(showAfterJournal(wanted, new Set(['a.service']), reading(['a.service', 'real.service']), statusOf), [
    'a.service',
    'alias.service',
    'a.timer',
  ]);
  assert.deepEqual(showAfterJournal(wanted, new Set(['a.service']), reading([]), statusOf), []);
  assert.deepEqual(showAfterJournal(wanted, new Set(['a.service']), reading([], { capped: true }), statusOf), [
    'alias.service',
    'c.service',
    'a.timer',
  ]);
  assert.deepEqual(showAfterJournal(wanted, new Set(), { readable: false, runs: [], capped: false }, statusOf), wanted);
  assert.deepEqual(showAfterJournal(wanted, new Set(['c.service']), undefined, statusOf), ['a.service', 'alias.service', 'a.timer']);
});

test('the cache keeps neither timers and jobs nor a __proto__ key, and a hostile file gives back only what checks out', () => {
  const byName = new Map<string, UnitStatus>([
    ['a.service', status('a.service')],
    ['job.timer', status('job.timer')],
    ['__proto__', status('__proto__')],
  ]);
  const cache = nextCache(['a.service', 'job.timer', '__proto__'], new Set(['job.timer']), byName, BOOT, 7);
  assert.deepEqual(Object.keys(cache.statuses), ['a.service']);
  const back = decodeShowCache(JSON.parse(JSON.stringify(cache)));
  assert.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify(cache)));

  const hostile = JSON.parse(
    JSON.stringify({
      bootId: BOOT,
      fullAt: 7,
      statuses: {
        good: status('good.service'),
        restarts: { ...status('r.service'), nRestarts: '3' },
        names: { ...status('n.service'), names: 'n.service' },
        timer: { ...status('t.timer'), timer: { unit: 5 } },
        goodTimer: status('g.timer', { timer: timer({ unit: 'g.service', nextElapseRealtime: 5 }) }),
        nothing: 5,
      },
    }).replace('"nothing":5', `"nothing":5,"__proto__":${JSON.stringify(status('p.service'))}`),
  );
  assert.ok(Object.hasOwn(hostile.statuses, '__proto__'), 'the file holds an own __proto__ key, as JSON.parse makes it');
  assert.deepEqual(Object.keys(decodeShowCache(hostile)?.statuses ?? {}), ['good', 'goodTimer']);
  assert.equal(decodeShowCache({ bootId: BOOT, fullAt: '7', statuses: {} }), undefined);
  assert.equal(decodeShowCache([]), undefined);
});

// --- ticks against a model of systemd ------------------------------------------------------

interface ModelUnit {
  load: string;
  active: string;
  sub: string;
  nRestarts: number;
  invocation: string;
  reload: string;
  lastTrigger?: number;
  next?: number;
}

class Model {
  readonly units = new Map<string, ModelUnit>();
  readonly journal: Array<{ unit: string; id: string; fields: Record<string, string> }> = [];
  monotonic = 100;
  shows: string[][] = [];

  realtime(): number {
    return 1_700_000_000 + this.monotonic - 100;
  }

  add(name: string, over: Partial<ModelUnit> = {}): void {
    this.units.set(name, {
      load: 'loaded',
      active: 'active',
      sub: 'running',
      nRestarts: 0,
      invocation: inv(1),
      reload: 'success',
      ...over,
    });
  }
  unit(name: string): ModelUnit {
    return this.units.get(name) as ModelUnit;
  }
  record(name: string): string {
    const u = this.units.get(name);
    if (!u) return `Id=${name}\nNames=${name}\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n`;
    const lines = [
      `Id=${name}`,
      `Names=${name}`,
      `LoadState=${u.load}`,
      `ActiveState=${u.active}`,
      `SubState=${u.sub}`,
      'Result=success',
      `NRestarts=${u.nRestarts}`,
      `InvocationID=${u.active === 'active' ? u.invocation : ''}`,
      `ReloadResult=${u.reload}`,
    ];
    if (name.endsWith('.timer')) {
      lines.push(
        'Unit=job.service',
        `LastTriggerUSec=@${u.lastTrigger ?? 0}`,
        `NextElapseUSecRealtime=@${u.next ?? 0}`,
        'TimersMonotonic={ OnUnitActiveUSec=1min ; next_elapse=0 }',
      );
    }
    return `${lines.join('\n')}\n`;
  }
  async run(args: readonly string[]): Promise<string> {
    if (args[0] === 'list-units') {
      return JSON.stringify([...this.units].map(([unit, u]) => ({ unit, load: u.load, active: u.active, sub: u.sub, description: '' })));
    }
    const names = args.slice(args.indexOf('--') + 1);
    this.shows.push(names);
    return names.map((n) => this.record(n)).join('\n');
  }
  async journalctl(args: readonly string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    const after = args.find((a) => a.startsWith('--after-cursor='));
    const from = after ? Number(after.slice('--after-cursor='.length)) + 1 : 0;
    const lines = this.journal
      .map((e, i) => ({ ...e, i }))
      .slice(from)
      .map((e) =>
        JSON.stringify({ __CURSOR: String(e.i), __REALTIME_TIMESTAMP: '1700000000000000', UNIT: e.unit, MESSAGE_ID: e.id, ...e.fields }),
      );
    return { stdout: lines.join('\n'), stderr: '', code: 0 };
  }
  invocations(ids: readonly string[]): Map<string, string> {
    const links = new Map<string, string>();
    for (const id of ids) {
      const u = this.units.get(id);
      if (u && (u.active === 'active' || u.active === 'activating')) links.set(id, u.invocation);
    }
    return links;
  }
}

const inv = (n: number): string => n.toString(16).padStart(32, '0');

/** One tick: a partial one with the cache, and beside it what a full show gives for the same model. */
async function tick(model: Model, patterns: string[], cache: ShowCache | undefined, cursor: string | undefined) {
  const options = (previous: ShowCache | undefined, fullShowSeconds: number) => ({
    patterns,
    host: 'h',
    run: (args: readonly string[]) => model.run(args),
    readClock: () => ({ monotonic: model.monotonic, realtime: model.realtime() }),
    journal: { run: (a: readonly string[]) => model.journalctl(a), from: cursor ? { cursor } : { sinceSeconds: 0 } },
    cache: { read: () => previous, bootId: BOOT, fullShowSeconds, readInvocations: (ids: readonly string[]) => model.invocations(ids) },
  });
  model.shows = [];
  const full = await collect(options(undefined, 0));
  model.shows = [];
  const partial = await collect(options(cache, 300));
  return { partial, full, shows: model.shows };
}

const seen = (c: Collection) => JSON.parse(JSON.stringify([...c.statuses]));

test('ticks against a changing systemd: each shows what changed and ends with what a full show gives, but a silent reset-failed, until the period is over', async () => {
  const model = new Model();
  for (const name of ['a.service', 'b.service', 'c.service', 'd.service']) model.add(name);
  model.add('job.timer', { sub: 'waiting', next: 1_700_000_080 });
  model.add('job.service', { active: 'inactive', sub: 'dead' });
  const patterns = ['a.service', 'b.service', 'c.service', 'd.service', 'job.timer'];
  let cache: ShowCache | undefined;
  let cursor: string | undefined;
  const step = async () => {
    const t = await tick(model, patterns, cache, cursor);
    cache = t.partial.showCache?.cache;
    cursor = t.partial.journal?.cursor ?? cursor;
    return t;
  };

  let t = await step();
  assert.equal(t.partial.shown.full, 'no record of a previous show');
  assert.deepEqual(seen(t.partial), seen(t.full));

  model.monotonic += 30;
  t = await step();
  assert.deepEqual(t.shows, [], 'a quiet tick shows nothing');
  assert.equal(t.partial.showCache?.changed, false, 'a quiet tick has no records to write');
  assert.equal(t.partial.shown.full, undefined);
  assert.deepEqual(seen(t.partial), seen(t.full));

  // a: restarted by Restart= between two ticks (same state, new invocation, NRestarts 1);
  // b: a reload that failed (state unchanged, its journal entry names it);
  // c: stopped.
  model.monotonic += 30;
  Object.assign(model.unit('a.service'), { invocation: inv(2), nRestarts: 1 });
  model.unit('b.service').reload = 'exit-code';
  model.journal.push({ unit: 'b.service', id: RELOAD_DONE_MESSAGE_ID, fields: { JOB_TYPE: 'reload', JOB_RESULT: 'failed' } });
  Object.assign(model.unit('c.service'), { active: 'inactive', sub: 'dead' });
  t = await step();
  assert.deepEqual(t.shows, [['a.service', 'c.service'], ['b.service']]);
  assert.deepEqual(seen(t.partial), seen(t.full));
  assert.equal(t.partial.statuses.get('b.service')?.reloadResult, 'exit-code');
  assert.equal(t.partial.statuses.get('a.service')?.nRestarts, 1);
  assert.equal(t.partial.showCache?.changed, true);

  // The timer elapsed (its kept next elapse has come) and its job ran and finished between ticks:
  // the timer is shown for being due, its job for its journal entry, and with it the timer again.
  model.monotonic += 30;
  Object.assign(model.unit('job.timer'), { lastTrigger: model.realtime() - 5, next: model.realtime() + 55 });
  model.journal.push({ unit: 'job.service', id: SUCCESS_MESSAGE_ID, fields: {} });
  t = await step();
  assert.deepEqual(t.shows, [['job.timer'], ['job.service', 'job.timer']]);
  assert.deepEqual(seen(t.partial), seen(t.full));

  // Its next elapse not come yet, nothing from its job: not shown.
  model.monotonic += 30;
  t = await step();
  assert.deepEqual(t.shows, []);
  assert.deepEqual(seen(t.partial), seen(t.full));

  // reset-failed on an active unit: nothing tells, so the kept record stands until the periodic full show.
  model.monotonic += 30;
  model.unit('a.service').nRestarts = 0;
  t = await step();
  assert.equal(t.partial.statuses.get('a.service')?.nRestarts, 1);
  model.monotonic += 300;
  t = await step();
  assert.equal(t.partial.shown.full, 'the periodic full show');
  assert.deepEqual(seen(t.partial), seen(t.full));
  assert.equal(t.partial.statuses.get('a.service')?.nRestarts, 0);
});

test('a show that fails leaves no cache, so the next tick shows every unit', async () => {
  const model = new Model();
  model.add('a.service');
  const first = await tick(model, ['a.service'], undefined, undefined);
  const failing = await collect({
    patterns: ['a.service', 'b.service'],
    host: 'h',
    run: async (args) => {
      if (args[0] === 'show') throw new Error('Connection timed out');
      return model.run(args);
    },
    readClock: () => ({ monotonic: 130, realtime: 1_700_000_000 }),
    journal: { run: (a) => model.journalctl(a), from: { sinceSeconds: 0 } },
    cache: {
      read: () => first.partial.showCache?.cache,
      bootId: BOOT,
      fullShowSeconds: 300,
      readInvocations: (ids) => model.invocations(ids),
    },
  });
  assert.equal(failing.showCache, undefined);
  assert.equal(failing.statuses.size, 0, 'no kept record stands in for a show that failed');
  assert.ok(failing.problems.some((p) => p.startsWith('systemctl show:')));
});
