/** Pure: the one way a remembered count goes up (timers' runs, units' failures and reloads). */

/** Adds one to `map[key]`, reading own keys only (a result named `constructor` is a count like any other). */
export function bump(map: Record<string, number>, key: string): void {
  map[key] = (Object.hasOwn(map, key) ? (map[key] as number) : 0) + 1;
}
