/**
 * A real headless Chromium for browser tests: Debian's `chromium` package, driven by
 * playwright-core (never `playwright install`). `.ci/run` installs it and exports
 * `LODE_CHROMIUM`; locally `/usr/bin/chromium` is used when present.
 *
 * Without a Chromium the tests are skipped loudly — except in CI (`CI=true`), where they fail:
 * a skipped browser suite must never pass CI (the same rule as `describePostgres`).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type ConsoleMessage, type Page } from 'playwright-core';
import { describe, it } from 'vitest';
import { ROOT } from './cluster.js';

export const CHROMIUM_ENV = 'LODE_CHROMIUM';
/** Screenshots go here (gitignored). */
export const RESULTS_DIR = join(ROOT, 'test-results');

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

const HOW_TO_INSTALL =
  `No Chromium found (${CHROMIUM_ENV} is not set and ${CANDIDATES[0]} is missing), so the browser tests cannot run. ` +
  `Run .ci/run, or install Debian's package (sudo apt-get install --no-install-recommends chromium), ` +
  `or export ${CHROMIUM_ENV}=/path/to/chromium.`;

/** The Chromium executable to drive, or undefined when there is none. */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env[CHROMIUM_ENV];
  if (fromEnv) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p));
}

/** `describe` for tests that need Chromium: skipped loudly without one, failed in CI. */
export function describeBrowser(name: string, fn: () => void): void {
  if (chromiumPath()) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(HOW_TO_INSTALL);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPING "${name}": ${HOW_TO_INSTALL}\n`);
  describe.skip(`${name} — SKIPPED: no Chromium (run .ci/run)`, fn);
}

/** Launches headless Chromium the way CI does (no sandbox: CI runs as root in a container). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(HOW_TO_INSTALL);
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/**
 * Collects what a page reports as an error: console.error messages (including the browser's own
 * "Failed to load resource" lines) and uncaught exceptions. Attach before navigating.
 */
export class ConsoleErrors {
  readonly errors: string[] = [];

  watch(page: Page, label: string): Page {
    page.on('console', (msg: ConsoleMessage) => {
      if (msg.type() === 'error') this.errors.push(`[${label}] console.error: ${msg.text()} (${msg.location().url || 'no url'})`);
    });
    page.on('pageerror', (err) => this.errors.push(`[${label}] uncaught: ${err.stack ?? err.message}`));
    return page;
  }
}

/** Saves a full-page screenshot as test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The page's width as laid out, to check nothing pushes a phone screen sideways. */
export async function pageScrollWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth);
}
