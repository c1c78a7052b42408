// Headless Chromium for tests that check what a browser draws: Debian's `chromium` package (scripts/setup.sh installs
// it on Debian when running as root). Each launch gets a new empty profile and no network-facing extras.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const names = ['chromium', 'chromium-browser', 'google-chrome'];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    for (const name of names) if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** Loads a local file headless and returns the DOM after load (`--dump-dom`), or writes a screenshot. */
export async function headless(
  chromium: string,
  file: string,
  output: { dumpDom: true } | { screenshot: string; size: [number, number] },
): Promise<string> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'flt-chromium-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
  ];
  const mode =
    'dumpDom' in output
      ? ['--dump-dom']
      : [`--screenshot=${output.screenshot}`, `--window-size=${output.size.join(',')}`, '--hide-scrollbars'];
  try {
    const { stdout } = await promisify(execFile)(chromium, [...flags, ...mode, `file://${file}`], {
      timeout: 60_000,
      maxBuffer: 32 * 1024 * 1024,
    });
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * A copy of a page that, once Chromium has laid it out, records in `<body data-drawn>` each chart's marks (bars,
 * cells, threshold lines) and how many have a non-empty box on screen.
 */
export const drawnProbe =
  `<script>
const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
  const marks = [...svg.querySelectorAll('.bar, .cell, .threshold')];
  const drawn = marks.filter((m) => { const b = m.getBoundingClientRect(); ` +
  `return b.height > 0 && (b.width > 0 || m.classList.contains('threshold')); });
  return { chart: svg.dataset.chart, width: Math.round(svg.getBoundingClientRect().width), ` +
  `marks: marks.length, drawn: drawn.length };
});
document.body.setAttribute('data-drawn', JSON.stringify(charts));
</script>`;

export function readProbe(dom: string): { chart: string; width: number; marks: number; drawn: number }[] {
  const match = /data-drawn="([^"]*)"/.exec(dom);
  if (!match) throw new Error('the probe did not run: no data-drawn attribute in the dumped DOM');
  return JSON.parse(match[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
}
