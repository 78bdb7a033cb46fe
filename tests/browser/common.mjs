// What the browser tests share: reading the environment, failing with a message, the
// accessibility check and screenshots.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** The environment variable `name`, which must be set. */
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** Fails the run with `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Runs axe-core (WCAG 2 A and AA, best practices) in the page: serious or critical findings
 * fail the run; the ids of lesser ones are returned.
 */
export async function accessible(page, what) {
  await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "best-practice"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `${what}: accessibility findings ${JSON.stringify(bad)}`);
  return result.map((v) => v.id);
}

/** A full-page screenshot `name.png` into $SCREENSHOTS, when set. */
export async function shoot(page, name) {
  if (process.env.SCREENSHOTS) await page.screenshot({ path: `${process.env.SCREENSHOTS}/${name}.png`, fullPage: true });
}
