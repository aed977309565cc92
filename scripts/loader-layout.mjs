// How scripts/build.mjs lays out what it writes, for it and for scripts/make-code-cache.mjs (which
// is bundled into dist/ and finds the bundle in the loader by these): the file names beside each
// other in dist/ (src/install copies the same two; the install test checks them on a real build),
// and the comment around the bundle in the loader, its function bundle()'s whole body.
export const LOADER = 'systemd-heartbeat.cjs';
export const CODE_CACHE = 'systemd-heartbeat.code-cache';
export const BUNDLE_HEAD = 'function bundle() {/*';
export const BUNDLE_TAIL = '*/}';
