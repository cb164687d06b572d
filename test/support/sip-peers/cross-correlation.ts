/**
 * Normalised cross-correlation with an alignment search: "is this recording the audio we sent, however
 * late it started?". A call adds an unknown delay (set-up, jitter buffer, first packets lost) and may cut
 * the end, so the score is taken over the overlap at each lag and the best lag wins.
 *
 * score(L) = sum a[i]*b[i+L] / sqrt(sum a[i]^2 * sum b[i+L]^2), both sums over the i where both exist,
 * after removing each signal's mean. The numerators for all lags come from one FFT correlation and the
 * energies from prefix sums, so a 30 s recording against a 5 s source takes milliseconds, not the
 * billions of multiplies of the direct search.
 */

/** Result of the search. */
export interface CorrelationResult {
  /** Best normalised correlation, -1..1 (1: b is a scaled copy of a at `lag`). 0 if nothing qualified. */
  readonly score: number;
  /** Samples by which `b` lags `a`: b[i + lag] lines up with a[i]. */
  readonly lag: number;
  /** Samples of overlap at that lag. */
  readonly overlap: number;
}

/** Search limits. */
export interface CorrelationOptions {
  /** Smallest lag tried. Default -(a.length - 1). */
  readonly minLag?: number;
  /** Largest lag tried. Default b.length - 1. */
  readonly maxLag?: number;
  /**
   * Fewest overlapping samples for a lag to count. Default half the shorter signal: without it a lag
   * where only a few samples overlap can score close to 1 by chance.
   */
  readonly minOverlap?: number;
}

/** In-place iterative radix-2 FFT; `inverse` computes the unscaled inverse. `re.length` is a power of 2. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i] as number;
      re[i] = re[j] as number;
      re[j] = tr;
      const ti = im[i] as number;
      im[i] = im[j] as number;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let start = 0; start < n; start += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const xr = (re[b] as number) * cr - (im[b] as number) * ci;
        const xi = (re[b] as number) * ci + (im[b] as number) * cr;
        re[b] = (re[a] as number) - xr;
        im[b] = (im[a] as number) - xi;
        re[a] = (re[a] as number) + xr;
        im[a] = (im[a] as number) + xi;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

function centred(x: ArrayLike<number>): Float64Array {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i] as number;
  mean /= x.length || 1;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) - mean;
  return out;
}

function prefixSquares(x: Float64Array): Float64Array {
  const p = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) p[i + 1] = (p[i] as number) + (x[i] as number) * (x[i] as number);
  return p;
}

/**
 * Best normalised cross-correlation of `a` and `b` over the allowed lags.
 * @throws Error when either signal is empty or the limits leave no lag to try.
 */
export function normalisedCrossCorrelation(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  opts: CorrelationOptions = {},
): CorrelationResult {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) throw new Error('cannot correlate an empty signal');
  const minLag = Math.max(opts.minLag ?? -(na - 1), -(na - 1));
  const maxLag = Math.min(opts.maxLag ?? nb - 1, nb - 1);
  if (minLag > maxLag) throw new Error(`no lag in ${minLag}..${maxLag}`);
  const minOverlap = Math.max(1, opts.minOverlap ?? Math.floor(Math.min(na, nb) / 2));

  const ca = centred(a);
  const cb = centred(b);
  let n = 1;
  while (n < na + nb) n <<= 1;
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  const br = new Float64Array(n);
  const bi = new Float64Array(n);
  ar.set(ca);
  br.set(cb);
  fft(ar, ai, false);
  fft(br, bi, false);
  // conj(A) * B: its inverse is c[L] = sum a[i] b[i+L] at index L (negative L wrap to n + L).
  for (let k = 0; k < n; k++) {
    const xr = ar[k] as number;
    const xi = -(ai[k] as number);
    const yr = br[k] as number;
    const yi = bi[k] as number;
    ar[k] = xr * yr - xi * yi;
    ai[k] = xr * yi + xi * yr;
  }
  fft(ar, ai, true);

  const pa = prefixSquares(ca);
  const pb = prefixSquares(cb);
  let best: CorrelationResult = { score: 0, lag: 0, overlap: 0 };
  for (let lag = minLag; lag <= maxLag; lag++) {
    const i0 = Math.max(0, -lag);
    const i1 = Math.min(na, nb - lag);
    const overlap = i1 - i0;
    if (overlap < minOverlap) continue;
    const ea = (pa[i1] as number) - (pa[i0] as number);
    const eb = (pb[i1 + lag] as number) - (pb[i0 + lag] as number);
    if (ea <= 0 || eb <= 0) continue;
    const num = (ar[lag >= 0 ? lag : n + lag] as number) / n;
    const score = num / Math.sqrt(ea * eb);
    if (score > best.score) best = { score: Math.min(1, score), lag, overlap };
  }
  return best;
}
