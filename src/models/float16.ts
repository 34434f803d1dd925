/**
 * IEEE 754 half precision for storing weights: half the bytes of float32, read back by tfjs's own
 * weight decoder (a weight spec with `quantization: { dtype: 'float16' }`), so a model saved this
 * way loads with `tf.loadLayersModel` anywhere tfjs runs.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits nearest to `x` (round half to even); overflow gives infinity, NaN stays NaN. */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf, NaN (quiet)
  const e = exp - 127 + 15; // the half-precision biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // Subnormal in half precision (or zero): the significand with its implicit 1, shifted right.
    if (e < -10) return sign; // below half the smallest subnormal: +-0
    const m = mant | 0x800000;
    const shift = 14 - e; // 13 to drop float32's extra bits, 1 - e more for the subnormal
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && h & 1)) h += 1;
    return sign | h; // a carry into the exponent field gives the smallest normal, which is right
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h += 1; // a carry may round up to infinity, which is right
  return sign | h;
}

/** Float16 bits of every value. */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i]!);
  return out;
}
