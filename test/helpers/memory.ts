/**
 * Memory bounds in tests: how far this process's resident set grew while `fn` ran, measured
 * in the test process itself (never a timing). Two views, the larger wins: the kernel's peak
 * (`maxRSS`, which only says something when the new peak is above the old one) and RSS sampled
 * every few milliseconds while `fn` runs (which catches a big buffer that is freed again).
 */
export async function rssGrowthDuring<T>(fn: () => Promise<T>): Promise<{ result: T; growthBytes: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = process.memoryUsage.rss();
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  let sampled = base;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss());
  }, 2);
  try {
    const result = await fn();
    sampled = Math.max(sampled, process.memoryUsage.rss());
    const peakAfter = process.resourceUsage().maxRSS * 1024;
    return { result, growthBytes: Math.max(sampled - base, peakAfter - Math.max(peakBefore, base)) };
  } finally {
    clearInterval(timer);
  }
}

export const MiB = 1 << 20;
