// Latency over a sliding window of the newest runs, in bounded memory however long the page
// runs (the Android LatencyStats): last, percentiles linear between ranks (numpy's default),
// mean; the count of all runs is exact.

export class LatencyStats {
  constructor(windowSize = 256) {
    if (!(windowSize >= 1)) throw new RangeError('window must hold at least one value');
    this.window = new Float64Array(windowSize);
    this.size = 0;
    this.next = 0;
    this.count = 0;
    this.last = NaN;
  }

  add(ms) {
    this.window[this.next] = ms;
    this.next = (this.next + 1) % this.window.length;
    this.size = Math.min(this.size + 1, this.window.length);
    this.count++;
    this.last = ms;
  }

  /** The q-th percentile (0..100) of the window; NaN when empty. */
  percentile(q) {
    if (this.size === 0) return NaN;
    if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile must be within 0..100, got ${q}`);
    const sorted = this.window.slice(0, this.size).sort();
    const rank = (q / 100) * (this.size - 1);
    const lo = Math.floor(rank);
    const hi = Math.min(lo + 1, this.size - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
  }

  get p50() {
    return this.percentile(50);
  }

  get p90() {
    return this.percentile(90);
  }

  mean() {
    if (this.size === 0) return NaN;
    let sum = 0;
    for (let i = 0; i < this.size; i++) sum += this.window[i];
    return sum / this.size;
  }
}
