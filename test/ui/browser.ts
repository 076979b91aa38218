import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** Debian's chromium (installed by .ci/run when absent); override with SWITCHYARD_CHROMIUM. */
export const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Where the UI tests save their screenshots (under .tap/, which git ignores). */
export const SCREENSHOTS = resolve(process.env.SWITCHYARD_UI_SCREENSHOTS ?? join(process.cwd(), '.tap', 'ui-screenshots'));

/**
 * The browser globals the page.evaluate / waitForFunction callbacks touch (they run in Chromium,
 * not Node). tsconfig.test.json can't take TypeScript's DOM lib (its WebAssembly types clash with
 * policies/sandbox/modules.ts), so each UI file declares `document` as a PageDocument.
 */
export interface PageElement {
  readonly id: string;
  readonly outerHTML: string;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
}
export interface PageInput extends PageElement {
  readonly labels: ArrayLike<unknown> | null;
}
export interface PageTextArea extends PageElement {
  readonly value: string;
}
export interface PageDocument {
  readonly activeElement: PageElement | null;
  getElementById(id: string): PageElement | null;
  querySelectorAll<E extends PageElement = PageElement>(selectors: string): Iterable<E>;
}
declare const document: PageDocument;

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far (the browser's own "failed to load" lines for 4xx answers excluded: the UI shows those). */
  problems: string[];
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile (its own cookies), at 1280×800. */
export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'sy-ui-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/Failed to load resource: the server responded with a status of 4\d\d /.test(text)) return;
    problems.push(`console: ${text}`);
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    problems,
    async shot(name) {
      // Every page we look at: each form control has a label, each button a name.
      const unnamed = await page.evaluate(() => {
        const out: string[] = [];
        for (const el of document.querySelectorAll<PageInput>('input, select, textarea')) {
          if (!el.labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) out.push(el.outerHTML.slice(0, 120));
        }
        for (const el of document.querySelectorAll('button, a[href]')) {
          if (!(el.textContent ?? '').trim() && !el.getAttribute('aria-label')) out.push(el.outerHTML.slice(0, 120));
        }
        return out;
      });
      for (const u of unnamed) problems.push(`${name}: no accessible name: ${u}`);
      const file = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Wait until a locator's text matches. */
export async function waitForText(locator: Locator, re: RegExp, timeoutMs = 15_000): Promise<string> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    last = (await locator.innerText({ timeout: 1000 }).catch(() => '')) ?? '';
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  const page = locator.page();
  const shot = join(SCREENSHOTS, `failed-wait-${Date.now()}.png`);
  await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  // What the page showed instead says why (an error box, a spinner): put it in the failure.
  const shown = ((await page.locator('main').innerText({ timeout: 1000 }).catch(() => '')) ?? '').replace(/\s+/g, ' ');
  throw new Error(`timed out waiting for ${re} in ${locator}; last text: ${last.slice(0, 500)}; page shows: ${shown.slice(0, 1500)}; screenshot: ${shot}`);
}
