import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent, createUser, type TestUser } from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

/**
 * Swagger UI in a real browser: the system's Chromium (never a downloaded
 * one) opens /api/docs, authorizes with a token and runs "Try it out". It
 * proves what the document alone cannot: the page loads under the app's
 * Content-Security-Policy and the bearer scheme works from the Authorize button.
 */

/** Every browser step gives up after this long, so a broken page fails the test instead of hanging it. */
const STEP_TIMEOUT_MS = 15_000;

/** CHROMIUM_PATH, else `chromium` or `chromium-browser` on the PATH. */
function findChromium(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!isExecutable(configured)) throw new Error(`CHROMIUM_PATH=${configured} is not an executable file`);
    return configured;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      if (isExecutable(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const chromiumPath = findChromium();
const NO_CHROMIUM = 'no Chromium found: install Debian’s chromium package or set CHROMIUM_PATH';

describe('Swagger UI in Chromium', () => {
  let t: TestApp;
  let baseUrl: string;
  let browser: Browser;
  let page: Page;
  let organizer: TestUser;
  let eventId: number;
  /** Console errors and uncaught page errors (a CSP violation shows up here). */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!chromiumPath) return;
    t = await startApp();
    // The browser needs a real socket; port 0 lets the system pick a free one.
    await t.app.listen(0, '127.0.0.1');
    baseUrl = await t.app.getUrl();
    organizer = await createUser(t.http);
    eventId = (await createEvent(t.http, organizer, { capacity: 5 })).id;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      // Root has no user namespaces for Chromium's sandbox in CI containers.
      args: ['--no-sandbox'],
      timeout: STEP_TIMEOUT_MS,
    });
    page = await browser.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Expands an operation, presses "Try it out", lets `fill` fill the form, executes it and returns the shown status. */
  async function tryItOut(operationId: string, fill: (operation: Locator) => Promise<void>): Promise<string> {
    const operation = page.locator(`[id$="-${operationId}"]`);
    await operation.locator('.opblock-summary').first().click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await fill(operation);
    await operation.getByRole('button', { name: 'Execute' }).click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    return (await status.innerText()).trim();
  }

  it('loads /api/docs under the Content-Security-Policy and authorizes with an access token', async (context) => {
    if (!chromiumPath) context.skip(NO_CHROMIUM);
    const response = await page.goto(`${baseUrl}/api/docs`);
    expect(response?.status()).toBe(200);
    await page.locator('.swagger-ui .info .title').waitFor();

    await page.locator('.scheme-container button.authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input[type="text"], input[type="password"]').first().fill(organizer.access);
    await dialog.locator('button.authorize[type="submit"]').click();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });

    expect(pageErrors).toEqual([]);
  });

  it('lists events with "Try it out": 200', async (context) => {
    if (!chromiumPath) context.skip(NO_CHROMIUM);
    expect(await tryItOut('EventsController_list', async () => undefined)).toBe('200');
    expect(pageErrors).toEqual([]);
  });

  it('registers for an event with "Try it out": 201', async (context) => {
    if (!chromiumPath) context.skip(NO_CHROMIUM);
    const status = await tryItOut('RegistrationsController_register', async (operation) => {
      await operation.locator('tr[data-param-name="id"] input').fill(String(eventId));
      await operation
        .locator('textarea.body-param__text')
        .fill(JSON.stringify({ name: 'Swagger Visitor', email: 'swagger.visitor@example.com' }));
    });
    expect(status).toBe('201');
    expect(pageErrors).toEqual([]);

    // The registration went through the token pasted into Authorize: it is linked to the organizer.
    const mine = await t.http.get('/api/me/registrations/').set('Authorization', `Bearer ${organizer.access}`);
    expect(mine.body).toEqual([expect.objectContaining({ event_id: eventId, email: 'swagger.visitor@example.com' })]);
  });
});
