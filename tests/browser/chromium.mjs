// Debian's chromium under playwright-core, with the flags every browser test uses and a
// fresh profile: no sandbox (root in CI), no GPU, no background traffic to Google, and
// every request the page makes recorded so a test can prove it stayed on its server.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function launch({ width = 1280, height = 720 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "venture-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.VENTURE_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width, height },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const requests = [];
  context.on("request", (r) => requests.push(r.url()));
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const close = async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); };
  return { context, page, requests, errors, close, profile };
}

// Waits until `pred` (run in the page) is truthy; fails naming `what` after `ms`.
export async function until(page, what, pred, arg, ms = 20000) {
  try {
    return await page.waitForFunction(pred, arg, { timeout: ms, polling: 50 });
  } catch (e) {
    const state = await page.evaluate(() => {
      const v = window.venture;
      return v && v.app ? { status: v.app.status(), tick: v.app.tick(), error: v.error } : v;
    });
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state)}`);
  }
}

// Drops the file at `path` on the page as a person dragging it from a file manager would.
export async function dropFile(page, path, name, bytes) {
  const b64 = bytes.toString("base64");
  await page.evaluate(([b64, name]) => {
    const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([raw], name, { type: "application/octet-stream" }));
    for (const type of ["dragenter", "dragover", "drop"]) {
      document.getElementById("screen").dispatchEvent(
        new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, [b64, name]);
}
