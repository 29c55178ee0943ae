// benches/web.rs's browser side: the figures of the browser client in headless chromium at
// 1920x1080 against a real server (VENTURE_URL) where bots already play.
// - navigation to the first drawn frame (performance.now() at the first frame, whose
//   origin is the navigation's start), median and worst of VENTURE_LOADS loads of `/`;
// - joining as a player, walking and attacking for VENTURE_SECONDS: the p99 of the time
//   one frame takes to build and paint (the client's own measure), and the CPU the whole
//   browser used (every chromium process of this profile, from /proc), as % of one core.
import { readdirSync, readFileSync } from "node:fs";
import { launch, until } from "./chromium.mjs";

const url = process.env.VENTURE_URL;
const loads = Number(process.env.VENTURE_LOADS || "7");
const seconds = Number(process.env.VENTURE_SECONDS || "20");
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function profileCpuTicks(profile) {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes(profile)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += Number(f[11]) + Number(f[12]); // utime, stime
    } catch { /* the process ended */ }
  }
  return total;
}

const b = await launch({ width: 1920, height: 1080 });
const { page } = b;
const out = {};
try {
  const firsts = [];
  for (let i = 0; i < loads; i++) {
    await page.goto(url);
    await until(page, "the first frame", () => window.venture && window.venture.firstFrameMs !== null);
    firsts.push(await page.evaluate(() => window.venture.firstFrameMs));
  }
  firsts.sort((a, b) => a - b);
  out.first_frame_ms = { median: firsts[Math.floor(firsts.length / 2)], worst: firsts[firsts.length - 1], all: firsts };

  await page.goto(`${url}?name=Bench`);
  await until(page, "playing", () => JSON.parse(window.venture.app.live_info()).phase === "Playing", null, 30000);
  await page.waitForTimeout(3000);
  const profile = b.profile;
  const cpu0 = profileCpuTicks(profile);
  const t0 = Date.now();
  const frames0 = await page.evaluate(() => window.venture.app.frames());
  const keys = ["d", "s", "a", "w"];
  for (let i = 0; Date.now() - t0 < seconds * 1000; i++) {
    await page.keyboard.down(keys[i % 4]);
    await page.keyboard.down(" ");
    await page.waitForTimeout(700);
    await page.keyboard.up(" ");
    await page.keyboard.up(keys[i % 4]);
    if (i % 3 === 0) await page.keyboard.press("1");
  }
  const wall = (Date.now() - t0) / 1000;
  const cpu1 = profileCpuTicks(profile);
  out.browser_cpu_percent = (100 * (cpu1 - cpu0)) / TICKS_PER_SECOND / wall;
  out.frames = (await page.evaluate(() => window.venture.app.frames())) - frames0;
  out.fps = out.frames / wall;
  out.frame_p99_ms = await page.evaluate(() => window.venture.app.frame_p99_ms());
  out.live = await page.evaluate(() => JSON.parse(window.venture.app.live_info()));
  delete out.live.log;
  await page.screenshot({ path: `${process.env.VENTURE_SHOTS}/web-bench-1920x1080.png` });
  console.log(JSON.stringify(out));
} finally {
  await b.close();
}
