// npm run screenshot -- [url] [file]: the dashboard of a running web, as docs/dashboard.png shows it
// (Debian's Chromium through playwright-core; CHROMIUM_PATH overrides /usr/bin/chromium).
import { chromium } from 'playwright-core';

const url = process.argv[2] ?? 'http://localhost:8080/';
const file = process.argv[3] ?? 'docs/dashboard.png';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  // Let the charts gather a minute of pictures.
  await page.waitForTimeout(Number(process.env.SCREENSHOT_WAIT_MS ?? 60_000));
  await page.screenshot({ path: file, fullPage: true });
  console.log(`wrote ${file}`);
} finally {
  await browser.close();
}
