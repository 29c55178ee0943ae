// tests/web_browser.rs's replay test in a real browser: the page from a real server, a
// .vrpl dropped on it plays, seeks forward and back to exact worlds (checksums the Rust
// side read from the log), steps, and a log with a wrong checksum stops before its tick
// with the reason on screen. Prints one JSON line of findings; exits non-zero on failure.
import { readFileSync } from "node:fs";
import { launch, until, dropFile } from "./chromium.mjs";

const url = process.env.VENTURE_URL;
const shots = process.env.VENTURE_SHOTS;
const good = readFileSync(process.env.VENTURE_LOG);
const bad = readFileSync(process.env.VENTURE_BAD_LOG);
const expect = JSON.parse(process.env.VENTURE_EXPECT); // { tick: checksum }
const badTick = Number(process.env.VENTURE_BAD_TICK);

const out = {};
const b = await launch({ width: 1280, height: 720 });
const { page } = b;
try {
  await page.goto(url);
  await until(page, "the first frame", () => window.venture && window.venture.firstFrameMs !== null);
  out.firstFrameMs = await page.evaluate(() => window.venture.firstFrameMs);
  await page.screenshot({ path: `${shots}/web-idle-1280x720.png` });

  await dropFile(page, process.env.VENTURE_LOG, "scripted.vrpl", good);
  await until(page, "the replay to load", () => window.venture.loaded === 1);
  out.range = await page.evaluate(() => Array.from(window.venture.app.range()));
  await until(page, "playing past tick 30", () => window.venture.app.tick() > 30);
  await page.screenshot({ path: `${shots}/web-replay-playing.png` });

  // Pause with the button, then seek with the box: forward, back, by time.
  await page.click("[data-act=toggle]");
  out.pausedAfterToggle = !(await page.evaluate(() => window.venture.app.playing()));
  const seekTo = async (text) => {
    await page.keyboard.press("g");
    await page.keyboard.type(text);
    await page.keyboard.press("Enter");
  };
  out.seeks = [];
  for (const [text, tick] of JSON.parse(process.env.VENTURE_SEEKS)) {
    await seekTo(text);
    await until(page, `tick ${tick} after seeking to ${text}`, (t) => window.venture.app.tick() === t, tick);
    const sum = await page.evaluate(() => window.venture.app.checksum());
    out.seeks.push({ text, tick, checksum: sum, expected: expect[tick] });
  }
  await page.screenshot({ path: `${shots}/web-replay-seek-back.png` });
  // A step with the arrow key lands on the next tick's recorded world.
  const before = await page.evaluate(() => window.venture.app.tick());
  await page.keyboard.press("ArrowRight");
  await until(page, "one tick forward", (t) => window.venture.app.tick() === t + 1, before);
  out.step = { tick: before + 1, checksum: await page.evaluate(() => window.venture.app.checksum()), expected: expect[before + 1] };
  // Help opens over the map.
  await page.keyboard.press("?");
  await page.screenshot({ path: `${shots}/web-replay-help.png` });
  await page.keyboard.press("x");

  // A log whose recorded checksum is wrong at badTick: played at 16x it stops before it.
  await dropFile(page, process.env.VENTURE_BAD_LOG, "bad.vrpl", bad);
  await until(page, "the bad log to load", () => window.venture.loaded === 2);
  for (let i = 0; i < 4; i++) await page.click("[data-act=faster]");
  await until(page, "the stop before the bad tick", (t) => window.venture.app.tick() === t - 1 && !window.venture.app.playing(), badTick, 60000);
  out.badStatus = await page.evaluate(() => window.venture.app.status());
  out.badRange = await page.evaluate(() => Array.from(window.venture.app.range()));
  await page.screenshot({ path: `${shots}/web-replay-mismatch-stop.png` });

  // Everything the page loaded came from the server it was served by.
  const origin = new URL(url).origin;
  out.foreign = b.requests.filter((r) => !r.startsWith(origin) && !r.startsWith("data:"));
  out.requests = b.requests.length;
  out.errors = b.errors;
  console.log(JSON.stringify(out));
} finally {
  await b.close();
}
