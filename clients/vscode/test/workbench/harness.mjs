// A real VS Code workbench for the UI tests: code-server (from npm) serving it on
// 127.0.0.1, Debian's chromium showing it, playwright-core driving it, and the built
// .vsix installed as a user installs it. See shared CLIENTS.md for why it is built so.
import { spawn, execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const codeServer = join(here, 'node_modules', '.bin', 'code-server');
export const artifacts = process.env.ASYNCODE_UI_ARTIFACTS ?? join(here, 'artifacts');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Monaco renders spaces as U+00A0. */
export const plain = (s) => s.replace(/\u00a0/g, ' ');

export class Workbench {
  /**
   * @param {{vsix: string, files?: Record<string,string>, settings?: object, name?: string}} o
   */
  static async start(o) {
    const wb = new Workbench();
    await wb.#start(o);
    return wb;
  }

  async #start({ vsix, files = {}, settings = {}, name = 'ui', env = {} }) {
    const root = join(here, 'runs', name);
    rmSync(root, { recursive: true, force: true });
    this.root = root;
    const home = join(root, 'home');
    this.userData = join(root, 'user-data');
    this.extensions = join(root, 'extensions');
    this.workspace = join(root, 'workspace');
    for (const d of [home, join(this.userData, 'User'), this.extensions, this.workspace, artifacts]) mkdirSync(d, { recursive: true });
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.workspace, file)), { recursive: true });
      writeFileSync(join(this.workspace, file), text);
    }
    writeFileSync(
      join(this.userData, 'User', 'settings.json'),
      JSON.stringify(
        {
          'workbench.startupEditor': 'none',
          'security.workspace.trust.enabled': false,
          'workbench.tips.enabled': false,
          'extensions.ignoreRecommendations': true,
          'telemetry.telemetryLevel': 'off',
          'update.mode': 'none',
          'workbench.enableExperiments': false,
          'editor.minimap.enabled': false,
          'files.hotExit': 'off',
          'window.restoreWindows': 'none',
          'workbench.colorTheme': 'Default Light Modern',
          'chat.commandCenter.enabled': false,
          'git.enabled': false,
          'git.openRepositoryInParentFolders': 'never',
          ...settings,
        },
        null,
        2,
      ),
    );
    this.env = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_DATA_HOME: join(home, '.local', 'share'),
      XDG_CACHE_HOME: join(home, '.cache'),
      ...env,
    };
    delete this.env.ASYNCODE_DAEMON; // the daemon inside the .vsix runs
    const common = ['--user-data-dir', this.userData, '--extensions-dir', this.extensions];
    await promisify(execFile)(codeServer, [...common, '--install-extension', vsix], { env: this.env, timeout: 120000 });
    this.port = await freePort();
    this.serverLog = [];
    // its own process group (setsid): it forks watchers and extension hosts
    this.server = spawn(
      codeServer,
      [
        '--bind-addr', `127.0.0.1:${this.port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
        '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened', ...common, this.workspace,
      ],
      { env: this.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (d) => {
      this.serverLog.push(String(d));
      if (this.serverLog.length > 500) this.serverLog.shift();
    };
    this.server.stdout.on('data', keep);
    this.server.stderr.on('data', keep);
    const url = `http://127.0.0.1:${this.port}`;
    const deadline = Date.now() + 60000;
    for (;;) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || this.server.exitCode !== null) throw new Error(`code-server did not start:\n${this.serverLog.join('')}`);
      await sleep(100);
    }
    this.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
      ],
    });
    this.context = await this.browser.newContext({ viewport: { width: 1400, height: 860 } });
    this.page = await this.context.newPage();
    await this.page.goto(`${url}/?folder=${encodeURIComponent(this.workspace)}`);
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60000 });
    // Until the workbench has registered the extensions' contributions, keybindings and
    // notebook types are missing: the palette listing our command says they are there.
    await this.command('asyncode: Show Log', { run: false, timeout: 90000 });
  }

  /** Runs a palette command by its title, retrying while the extension host starts. */
  async command(title, { timeout = 30000, run = true } = {}) {
    const page = this.page;
    const deadline = Date.now() + timeout;
    for (;;) {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor();
      await input.fill(`>${title}`);
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
      try {
        await row.waitFor({ timeout: 3000 });
        const label = plain(await row.locator('.label-name').first().innerText()).trim();
        if (label.endsWith(title)) {
          await page.keyboard.press(run ? 'Enter' : 'Escape');
          return;
        }
      } catch {
        // not registered yet
      }
      if (Date.now() > deadline) throw new Error(`no command "${title}" in the palette`);
      await sleep(500);
    }
  }

  /** Opens a file of the workspace's top folder from the Explorer, as a user does. */
  async open(file) {
    const page = this.page;
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+1'); // into the first editor group, beside the window
    const exact = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const row = page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: exact }) })
      .first();
    if (!(await row.isVisible())) await this.command('View: Show Explorer');
    const tab = page.locator(`.tab.active[aria-label^="${file}"]`).first();
    // the tree may move under the pointer (a file appears): check, and again if it did
    for (let attempt = 0; ; attempt++) {
      await row.dblclick({ timeout: 30000 });
      try {
        await tab.waitFor({ timeout: attempt < 3 ? 5000 : 30000 });
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
    if (file.endsWith('.py')) {
      await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().waitFor();
    }
  }

  /** Puts the cursor on a line (1-based) of the active editor. */
  async goToLine(line) {
    await this.page.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`:${line}`);
    await this.page.keyboard.press('Enter');
  }

  /** Focuses the text editor of the given file. */
  async focusEditor(file) {
    await this.page.locator(`.tab[aria-label*="${file}"]`).first().click();
    await this.page.locator('.editor-group-container.active .monaco-editor textarea').first().focus();
  }

  /** Text of every frame (notebook outputs render in webview iframes, some inside shadow
   *  roots), without the screen reader's announcements. */
  async allText() {
    const parts = [];
    for (const frame of this.page.frames()) {
      try {
        parts.push(await frame.evaluate(textOfPage));
      } catch {
        // a frame that went away
      }
    }
    return plain(parts.join('\n'));
  }

  /** The text of each output cell of the notebook webviews, in the order shown. */
  async outputCells() {
    const cells = [];
    for (const frame of this.page.frames()) {
      try {
        cells.push(...(await frame.evaluate(outputCellsOfPage)));
      } catch {
        // not a webview, or gone
      }
    }
    return cells.sort((a, b) => a.top - b.top).map((c) => plain(c.text));
  }

  /** Waits until `predicate(text of every frame)` holds. */
  async waitForText(predicate, { timeout = 30000, what = 'text' } = {}) {
    const deadline = Date.now() + timeout;
    let text = '';
    for (;;) {
      text = await this.allText();
      if (typeof predicate === 'string' ? text.includes(predicate) : predicate(text)) return text;
      if (Date.now() > deadline) {
        await this.screenshot(`timeout-${what.replace(/\W+/g, '-')}`);
        throw new Error(`timed out waiting for ${what}; the page shows:\n${text.slice(-3000)}`);
      }
      await sleep(100);
    }
  }

  /** Waits until `predicate(texts of the output cells)` holds; returns those texts. */
  async waitForOutputs(predicate, { timeout = 30000, what = 'outputs' } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const cells = await this.outputCells();
      if (predicate(cells)) return cells;
      if (Date.now() > deadline) {
        await this.screenshot(`timeout-${what.replace(/\W+/g, '-')}`);
        throw new Error(`timed out waiting for ${what}; the output cells are:\n${JSON.stringify(cells, null, 1).slice(-3000)}`);
      }
      await sleep(50);
    }
  }

  /** Waits for a notification toast whose text matches; returns its text. */
  async waitForNotification(pattern, { timeout = 30000 } = {}) {
    const toast = this.page.locator('.notifications-toasts .notification-list-item', { hasText: pattern }).first();
    await toast.waitFor({ timeout });
    return plain(await toast.innerText());
  }

  async screenshot(name) {
    const path = join(artifacts, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  async stop() {
    try {
      await this.browser?.close();
    } catch {
      // already gone
    }
    const pgid = this.server?.pid;
    if (pgid && this.server.exitCode === null) {
      const exited = new Promise((r) => this.server.once('exit', r));
      try {
        process.kill(-pgid, 'SIGTERM');
      } catch {
        // gone
      }
      await Promise.race([exited, sleep(5000)]);
    }
    if (pgid) {
      try {
        process.kill(-pgid, 'SIGKILL'); // what is left of the group (extension hosts, watchers)
      } catch {
        // nothing left
      }
    }
  }
}

export function vsixPath() {
  const p = process.env.ASYNCODE_VSIX;
  if (!p || !existsSync(p)) throw new Error('set ASYNCODE_VSIX to the built .vsix (scripts/test.sh does)');
  return p;
}

// Run inside a page or frame: its visible text, shadow roots included.
function textOfPage() {
  const parts = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  const skip = (n) => {
    for (let e = n.parentElement; e; e = e.parentElement) {
      if (e.classList.contains('monaco-aria-container') || e.tagName === 'SCRIPT' || e.tagName === 'STYLE') return true;
    }
    return false;
  };
  const collect = (root) => {
    const w = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      if (n.nodeType === 3) {
        if (!skip(n)) parts.push(n.textContent);
      } else {
        if (n.tagName === 'DIV' || n.tagName === 'BR' || n.tagName === 'TR' || n.tagName === 'P') parts.push('\n');
        if (n.shadowRoot) collect(n.shadowRoot);
      }
    }
  };
  void walk;
  if (document.body) collect(document.body);
  return parts.join('');
}

// Run inside a notebook webview: each cell's outputs (a .cell_container), with its place.
function outputCellsOfPage() {
  const text = (root) => {
    const parts = [];
    const w = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      if (n.nodeType === 3) parts.push(n.textContent);
      else {
        if (n.tagName === 'DIV' || n.tagName === 'BR') parts.push('\n');
        if (n.shadowRoot) parts.push(text(n.shadowRoot));
      }
    }
    return parts.join('');
  };
  return [...document.querySelectorAll('.cell_container')].map((c) => ({
    top: c.getBoundingClientRect().top,
    text: text(c),
  }));
}
