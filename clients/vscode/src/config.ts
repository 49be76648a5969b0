// The extension's settings (package.json `contributes.configuration`), read when used.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TraceLevel } from './client/daemon';
import type { Backend } from './protocol/wire';

export type SessionScope = 'folder' | 'file';

export function settings(scope?: vscode.ConfigurationScope) {
  const c = vscode.workspace.getConfiguration('asyncode', scope);
  return {
    daemonPath: c.get<string>('daemonPath', '').trim(),
    python: c.get<string>('python', '').trim(),
    backend: c.get<Backend>('backend', 'asyncio'),
    session: c.get<SessionScope>('session', 'folder'),
    trace: c.get<TraceLevel>('trace', 'off'),
    outputLines: Math.max(10, c.get<number>('output.maxLines', 500)),
  };
}

/** The daemon to run: the setting, else ASYNCODE_DAEMON, else the one inside the extension. */
export function daemonCommand(extensionPath: string): string {
  const fromSetting = settings().daemonPath;
  if (fromSetting) return fromSetting;
  if (process.env.ASYNCODE_DAEMON) return process.env.ASYNCODE_DAEMON;
  const bundled = path.join(extensionPath, 'bin', 'asyncoded');
  try {
    // an archive tool may have dropped the executable bit
    fs.accessSync(bundled, fs.constants.X_OK);
  } catch {
    try {
      fs.chmodSync(bundled, 0o755);
    } catch {
      // spawning will say what is wrong
    }
  }
  return bundled;
}

/** asyncode.python, else the Python extension's active interpreter, else the daemon's own. */
export async function pythonFor(resource: vscode.Uri | undefined): Promise<string | undefined> {
  const own = settings(resource).python;
  if (own) return own;
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const env = await api?.environments?.getActiveEnvironmentPath?.(resource);
    return typeof env?.path === 'string' && env.path ? env.path : undefined;
  } catch {
    return undefined;
  }
}
