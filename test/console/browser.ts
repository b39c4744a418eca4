import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/sidecar.ts';

/* Real headless Chromium for the console's end-to-end tests, and the screenshots they leave behind. */

export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-output/screenshots');
export const WIDE = 1280;
export const NARROW = 390;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface ConsolePage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Uncaught exceptions and console errors of the page, so a test can insist there were none. */
  readonly errors: string[];
}

export async function openPage(browser: Browser, width = WIDE): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // Refused tokens, query syntax errors and a missing optional route are expected in some tests; the app shows those itself.
    if (message.type() === 'error' && !/status of (400|401|403|404)/.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  return { page, context, errors };
}

/** Saves the page at 1280 and 390 px wide (full height) as `<name>-1280.png` and `<name>-390.png`. */
export async function screenshots(page: Page, name: string): Promise<{ wide: string; narrow: string; narrowOverflow: number }> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize() ?? { width: WIDE, height: 900 };
  const wide = path.join(SCREENSHOT_DIR, `${name}-${WIDE}.png`);
  const narrow = path.join(SCREENSHOT_DIR, `${name}-${NARROW}.png`);
  await page.setViewportSize({ width: WIDE, height: 900 });
  await page.screenshot({ path: wide, fullPage: true, animations: 'disabled' });
  await page.setViewportSize({ width: NARROW, height: 844 });
  // How far the page sticks out sideways at phone width (0 = nothing needs horizontal scrolling).
  const narrowOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.screenshot({ path: narrow, fullPage: true, animations: 'disabled' });
  await page.setViewportSize(original);
  return { wide, narrow, narrowOverflow };
}

export const DOCS_SCREENSHOT_DIR = path.join(REPO_ROOT, 'docs/screenshots');

/**
 * Copies a screenshot to docs/screenshots (committed, shown by the README) when it is missing there or when
 * ASYNC_EVENTS_UPDATE_SCREENSHOTS=1: every run would otherwise leave a changed binary in the work tree (times and
 * ports differ from run to run).
 */
export function publishScreenshot(file: string, name: string): boolean {
  const target = path.join(DOCS_SCREENSHOT_DIR, name);
  if (existsSync(target) && process.env.ASYNC_EVENTS_UPDATE_SCREENSHOTS !== '1') return false;
  mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
  copyFileSync(file, target);
  return true;
}
