// Starts the real daemon for the unit tests: ASYNCODE_DAEMON, else the build in the
// checkout (build/asyncoded).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Daemon, type DaemonOptions } from '../../src/client/daemon';

export function daemonPath(): string {
  const fromEnv = process.env.ASYNCODE_DAEMON;
  if (fromEnv) return fromEnv;
  // out/unit/x.test.js sits three levels under clients/vscode.
  for (const root of [resolve(__dirname, '..', '..', '..', '..'), process.cwd()]) {
    const candidate = join(root, 'build', 'asyncoded');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('no daemon: set ASYNCODE_DAEMON to asyncoded');
}

export function startDaemon(options: Partial<DaemonOptions> = {}): Promise<Daemon> {
  const log: string[] = [];
  return Daemon.start({
    command: daemonPath(),
    log: (line) => log.push(line),
    ...options,
  });
}

/** Resolves when `predicate` holds, checking after each event loop turn; fails after `ms`. */
export async function until(predicate: () => boolean, ms = 10000, what = 'a condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
