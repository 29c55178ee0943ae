// tests/web_browser.rs's live tests in a real browser, by VENTURE_MODE:
// - "play": /?name=NAME joins over the WebSocket carrier; the test holds keys (walk right,
//   walk down, attack, cast spell 1), opens the inventory (I), unequips the armor
//   row (Up, Enter) and closes it (Escape), and reports what the page saw.
// - "watch": /#watch follows the game as a spectator for VENTURE_SECONDS and reports every
//   confirmed tick's checksum (the Rust side compares them with the server's recording).
// - "chat": joins as NAME, waits for a chat line containing VENTURE_EXPECT_CHAT in its log,
//   then says VENTURE_SAY and stays VENTURE_SECONDS so the other side can read it.
// Prints one JSON line; exits non-zero on failure.
import { launch, until } from "./chromium.mjs";

const url = process.env.VENTURE_URL;
const shots = process.env.VENTURE_SHOTS;
const mode = process.env.VENTURE_MODE;
const name = process.env.VENTURE_NAME || "Ada";
const seconds = Number(process.env.VENTURE_SECONDS || "5");
const info = (page) => page.evaluate(() => JSON.parse(window.venture.app.live_info()));
const playing = () => JSON.parse(window.venture.app.live_info()).phase === "Playing";

const b = await launch(mode === "watch" ? { width: 1920, height: 1080 } : { width: 1280, height: 720 });
const { page } = b;
const out = { mode };
try {
  const target = mode === "watch" ? `${url}#watch` : `${url}?name=${encodeURIComponent(name)}`;
  await page.goto(target);
  await until(page, "the page's first frame", () => window.venture && window.venture.firstFrameMs !== null);
  await until(page, "playing", playing, null, 30000);
  out.joined = await info(page);
  if (mode === "play") {
    const hold = async (key, ms) => { await page.keyboard.down(key); await page.waitForTimeout(ms); await page.keyboard.up(key); };
    await hold("d", 1200);
    await hold("s", 800);
    await page.screenshot({ path: `${shots}/web-live-walking.png` });
    await hold(" ", 1500);
    await page.keyboard.press("1");
    await page.waitForTimeout(300);
    await page.keyboard.press("n");
    await page.waitForTimeout(1500);
    await page.screenshot({ path: `${shots}/web-live-fighting-netline.png` });
    // The inventory: I opens it (nothing carried: on the accessory row); Up moves to the
    // armor row; Enter unequips there (the chat box stays shut); Escape closes it.
    const open = () => window.venture.app.inventory_open();
    await page.keyboard.press("i");
    await until(page, "the inventory open", open, null, 5000);
    await page.keyboard.press("ArrowUp");
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${shots}/web-live-inventory.png` });
    await page.keyboard.press("Enter");
    await page.waitForTimeout(500);
    out.inventory = {
      opened: true,
      chat_hidden_after_enter: await page.evaluate(() => document.getElementById("chat").hidden),
      open_after_enter: await page.evaluate(open),
    };
    await page.keyboard.press("Escape");
    await until(page, "the inventory closed", () => !window.venture.app.inventory_open(), null, 5000);
    out.inventory.closed = true;
    await page.waitForTimeout(500);
  } else if (mode === "watch") {
    await page.waitForTimeout(seconds * 1000);
    await page.keyboard.press("Tab");
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${shots}/web-watch-1920x1080.png` });
    out.checksums = await page.evaluate(() => Array.from(window.venture.app.confirmed_checksums()));
  } else if (mode === "chat") {
    const expect = process.env.VENTURE_EXPECT_CHAT;
    await until(page, `the chat line "${expect}"`,
      (e) => JSON.parse(window.venture.app.live_info()).log.some((l) => l.includes(e)), expect, 60000);
    await page.keyboard.press("Enter");
    await page.keyboard.type(process.env.VENTURE_SAY);
    await page.keyboard.press("Enter");
    await page.waitForTimeout(seconds * 1000);
    await page.screenshot({ path: `${shots}/web-chat-with-terminal.png` });
  }
  out.end = await info(page);
  out.errors = b.errors;
  const origin = new URL(url).origin;
  const wsOrigin = origin.replace(/^http/, "ws");
  out.foreign = b.requests.filter((r) => !r.startsWith(origin) && !r.startsWith(wsOrigin) && !r.startsWith("data:"));
  console.log(JSON.stringify(out));
} finally {
  await b.close();
}
