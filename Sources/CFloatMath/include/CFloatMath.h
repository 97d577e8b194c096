// Float's exponential and error function as straight-line arithmetic (no call, no branch), so
// that a loop over them compiles to vector instructions — in Swift, which inlines these
// functions into its own loops, and in the loops below, compiled once for each x86-64 vector
// level. The error bounds and the derivations are in NGKernels' `FloatMath`, which tests them.
#ifndef CFLOATMATH_H
#define CFLOATMATH_H

#include <stdint.h>
#include <string.h>

static inline __attribute__((always_inline)) uint32_t ngplus_float_bits(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

static inline __attribute__((always_inline)) float ngplus_float_from_bits(uint32_t bits) {
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/// Asks the caches for the lines of the `bytes` bytes from `p` ahead of loads from them: every
/// line of the first 512 bytes, after which the hardware's own prefetch follows a longer run,
/// and the line of their last byte, its own when the run does not start a line. No fault, no
/// effect on the program's values.
static inline __attribute__((always_inline)) void ngplus_prefetch_run(const void *p, long bytes) {
    long head = bytes < 512 ? bytes : 512;
    if (head <= 0) return;
    for (long offset = 0; offset < head; offset += 64) __builtin_prefetch((const char *)p + offset, 0, 3);
    __builtin_prefetch((const char *)p + head - 1, 0, 3);
}

/// e^x within 2 ulp (see `FloatMath.exp`).
static inline __attribute__((always_inline)) float ngplus_expf(float x) {
    float clamped = x < 89.0f ? x : 89.0f;
    clamped = clamped > -104.0f ? clamped : -104.0f;
    // n = round(x / ln 2): adding 1.5·2²³ leaves n in the sum's low mantissa bits.
    float shifted = clamped * 1.44269504088896341f + 12582912.0f;
    float n = shifted - 12582912.0f;
    float r = clamped - n * 0.693359375f;
    r -= n * -2.12194440e-4f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1;
    p = p * r + 1;
    int32_t power = (int32_t)(ngplus_float_bits(shifted) - 0x4B400000u);
    int32_t half = power >> 1;
    float first = ngplus_float_from_bits((uint32_t)(half + 127) << 23);
    float second = ngplus_float_from_bits((uint32_t)(power - half + 127) << 23);
    float result = p * first * second;
    return x == x ? result : x;
}

/// erf(x) within 3 ulp, odd, ±1 beyond |x| = 4 (see `FloatMath.erf`).
static inline __attribute__((always_inline)) float ngplus_erff(float x) {
    float magnitude = ngplus_float_from_bits(ngplus_float_bits(x) & 0x7fffffffu);
    float square = magnitude * magnitude;
    float p = 7.89821011783372e-05f;
    p = p * square - 0.0008024354098813989f;
    p = p * square + 0.005190053573950938f;
    p = p * square - 0.026854808534758363f;
    p = p * square + 0.11283612428167056f;
    p = p * square - 0.3761262884331419f;
    p = p * square + 1.1283791665100469f;
    float small = x * p;
    float b = magnitude < 4 ? magnitude : 4;
    b = b > 1 ? b : 1;
    float u = (b - 2.5f) * (1 / 1.5f);
    float q = 1.2445648952507604e-05f;
    q = q * u - 3.665494840998298e-05f;
    q = q * u + 5.9020494658899705e-05f;
    q = q * u - 0.0001446941095021451f;
    q = q * u + 0.0004099893438392175f;
    q = q * u - 0.0010163813257730078f;
    q = q * u + 0.0024040043781717152f;
    q = q * u - 0.005567650117391796f;
    q = q * u + 0.012489175804617376f;
    q = q * u - 0.027005669797881063f;
    q = q * u + 0.056110516530914124f;
    q = q * u - 0.11152100739281148f;
    q = q * u + 0.21080636368941666f;
    float large = 1 - ngplus_expf(-(b * b)) * q;
    large = magnitude < 4 ? large : 1;
    float signed_large = ngplus_float_from_bits(ngplus_float_bits(large) | (ngplus_float_bits(x) & 0x80000000u));
    float result = magnitude < 1 ? small : signed_large;
    return x == x ? result : x;
}

/// The vector levels the loops are compiled for: baseline x86-64 (SSE2) or any other
/// architecture; AVX2 with FMA; AVX-512 (F, BW, DQ, VL).
typedef enum {
    ngplus_float_level_baseline = 0,
    ngplus_float_level_avx2 = 1,
    ngplus_float_level_avx512 = 2,
} ngplus_float_level;

/// Float's transcendental and row-wise loops at one vector level. Every loop is elementwise: an output may
/// be its input (the same pointer), never a shifted view of it.
typedef struct {
    /// y = x·Φ(x), Φ(x) = (1 + erf(x/√2))/2 kept in `cumulative`.
    void (*gelu)(const float *x, float *y, float *cumulative, long count);
    /// dx = dy·(Φ(x) + x·φ(x)), φ the standard normal density, Φ from `gelu`.
    void (*gelu_backward)(const float *x, const float *cumulative, const float *dy, float *dx, long count);
    /// y = e^(x − shift).
    void (*shifted_exponentials)(const float *x, float *y, long count, float shift);
    /// The causal softmax of rows first_row..<first_row + rows of a score matrix `size` columns
    /// wide, in place (`scores` at row first_row, rows `leading` apart): row i over columns
    /// 0…i, its largest value subtracted first; zeros after column i.
    void (*causal_softmax)(float *scores, long rows, long first_row, long size, long leading);
    /// Its gradient in place: from dP (in `gradient`) and P, dS = P ⊙ (dP − rowsum(dP ⊙ P)),
    /// zero after column i.
    void (*causal_softmax_backward)(
        const float *probabilities, float *gradient, long rows, long first_row, long size, long leading);
    /// Layer normalization of `rows` rows of `width` values: x̂ = (x − μ)/σ, σ = √(variance + ε)
    /// (two passes over the row), y = γ ⊙ x̂ + β; μ and 1/σ of each row kept for the gradient.
    void (*layer_norm)(const float *x, long rows, long width, const float *gain, const float *bias, float epsilon,
                       float *y, float *means, float *inverse_deviation);
    /// Its gradients from the same x, μ and 1/σ: per row, with g = dy ⊙ γ and x̂ formed again,
    /// dx = (1/σ)·(g − mean(g) − x̂·mean(g ⊙ x̂)); over the rows dγ = Σ dy ⊙ x̂ and dβ = Σ dy,
    /// overwritten.
    void (*layer_norm_backward)(const float *dy, const float *x, const float *means, const float *inverse_deviation,
                                long rows, long width, const float *gain, float *dx, float *gain_gradient,
                                float *bias_gradient);
    /// Batch normalization's passes over rows first_row..<first_row + row_count of rows of
    /// channels·positions values (channel c of sample b: the `positions` values from
    /// b·channels·positions + c·positions). Moments: each sample's and channel's mean m into
    /// moments[2·(b·channels + c)] and Σ (x − m)² into the next slot.
    void (*batch_norm_moments)(const float *x, long first_row, long row_count, long channels, long positions,
                               float *moments);
    /// y = γ·((x − μ)·(1/σ)) + β per channel, or its ReLU with `rectify`.
    void (*batch_norm_apply)(const float *x, long first_row, long row_count, long channels, long positions,
                             const float *mean, const float *inverse_deviation, const float *gain, const float *bias,
                             int rectify, float *y);
    /// dy (masked by `rectified_output` > 0 when not NULL) into dx; each sample's and channel's
    /// Σ dy into sums[2·(b·channels + c)] and Σ dy·x̂ into the next slot.
    void (*batch_norm_gradient_sums)(const float *dy, const float *rectified_output, const float *x, long first_row,
                                     long row_count, long channels, long positions, const float *mean,
                                     const float *inverse_deviation, float *dx, float *sums);
    /// dx (holding dy) = scale·(dy − mean_gradient − x̂·mean_weighted), per channel.
    void (*batch_norm_gradient_apply)(const float *x, long first_row, long row_count, long channels, long positions,
                                      const float *mean, const float *inverse_deviation, const float *scale,
                                      const float *mean_gradient, const float *mean_weighted, float *dx);
    /// Softmax cross-entropy of `rows` rows of `classes` logits (rows `leading` apart) against
    /// `labels`: returns the sum of the rows' losses, and writes the gradient of their mean,
    /// (softmax − one-hot)/rows, `classes` wide.
    double (*softmax_cross_entropy)(
        const float *logits, long rows, long classes, long leading, const long *labels, float *gradient);
    /// 2×2 max pooling (stride 2) of one plane of `height × width` (even), at offset `input`
    /// of x, into (height/2) × (width/2) values of y. `argmax` gets each maximum's offset in x
    /// (the first of equal values: top-left, top-right, bottom-left, bottom-right), or −1
    /// where `rectify` makes the output 0 (a maximum not above 0).
    void (*max_pool_plane)(const float *x, long input, long height, long width, int rectify, float *y,
                           int32_t *argmax);
    /// One Adam update: m′ = β₁·m + (1 − β₁)·g, v′ = β₂·v + (1 − β₂)·g² into `m_new` and
    /// `v_new`; the step (m′·c₁)/(√(v′·c₂) + ε), c₁ and c₂ the inverse bias corrections,
    /// written over g — or, when `weight` is not NULL, w′ = keep·w − rate·step written into
    /// `new_weight` (g unchanged), g having first taken the L2 decay, g + decay·w. Returns 1
    /// when every new value is finite.
    int (*adam_update)(float *g, const float *m, const float *v, float *m_new, float *v_new, long count, float beta1,
                       float beta2, float correction1, float correction2, float epsilon, const float *weight,
                       float *new_weight, float keep, float rate, float decay);
    /// One momentum update: v′ = μ·v + g (v′ = g when `restart`) into `v_new`; the step
    /// s = g + μ·v′ (with `nesterov`) or s = v′ written over g — or, when `weight` is not NULL,
    /// w′ = keep·w − rate·s written into `new_weight` (g unchanged), g having first taken the L2
    /// decay, g + decay·w. Returns 1 when every new value is finite.
    int (*momentum_update)(float *g, const float *v, float *v_new, long count, float mu, int restart, int nesterov,
                           const float *weight, float *new_weight, float keep, float rate, float decay);
    /// `momentum_update` with a weight of `count` scattered rows of `width` values: row k of g
    /// with table row rows[k] of v and of `weight` into row k of v_new and of `new_weight` (every
    /// value decayed), the table rows prefetched `ahead` rows before their update. Returns 1 when
    /// every new value is finite.
    int (*momentum_update_rows)(float *g, const float *v, float *v_new, const long *rows, long count, long width,
                                float mu, int restart, int nesterov, const float *weight, float *new_weight, float keep,
                                float rate, float decay, long ahead);
    /// A small matrix product for attention's tiles: C (rows × columns, rows `ldc` apart) =
    /// α·Σ_{x = inner_begin}^{inner_end − 1} A(r, x)·B[x, :] + β·C, with A(r, x) =
    /// a[r·a_row + x·a_inner] (either layout, or a transpose) and B's rows `ldb` apart. With
    /// β = 0, C is only written.
    void (*tile_product)(long rows, long columns, long inner_begin, long inner_end, const float *a, long a_row,
                         long a_inner, const float *b, long ldb, float alpha, float beta, float *c, long ldc);
    /// `tile_product` with A's rows at a + a_rows[r] (A(r, x) = a[a_rows[r] + x·a_inner], or
    /// a[a_rows[r] + a_cols[x]] when `a_cols` is given) and B's row x at b + b_rows[x] (a
    /// convolution's padded planes read in place as its patches), the sums over the x of the
    /// range in runs of `run` values `run_stride` apart from inner_begin (1 ≤ run ≤ run_stride;
    /// one run when run ≥ inner_end − inner_begin).
    void (*gathered_tile_product)(long rows, long columns, long inner_begin, long inner_end, long run,
                                  long run_stride, const float *a, const long *a_rows, long a_inner,
                                  const long *a_cols, const float *b, const long *b_rows, float alpha, float beta,
                                  float *c, long ldc);
    /// The products of long rows: C (m × n, rows `ldc` apart) = Σ_{k < length} A[i·lda + k]·B[j·ldb + k],
    /// overwritten.
    void (*row_products)(long m, long n, long length, const float *a, long lda, const float *b, long ldb, float *c,
                         long ldc);
    /// The transpose of a rows × columns matrix (rows `ld` apart) into a contiguous columns × rows
    /// one: target[j·rows + i] = source[i·ld + j].
    void (*transpose)(const float *source, long rows, long columns, long ld, float *target);
    /// y = ln(1 + eˣ) − ln 2 and sigmoid = σ(x), SchNet's activation and its derivative (see
    /// `NetworkKernels.shiftedSoftplus`, whose series this is).
    void (*shifted_softplus)(const float *x, float *y, float *sigmoid, long count);
    /// The column sums of a rows × columns block (rows `lda` apart): sums[c·stride] =
    /// Σ_r a[r·lda + c], plus what sums[c·stride] held when `accumulate` (each column summed in
    /// order of its rows from 0, then added).
    void (*column_sums)(const float *a, long rows, long columns, long lda, int accumulate, float *sums, long stride);
    /// `adam_update` of `count` scattered rows of `width` values: row k of g with table row
    /// rows[k] of m and v into row k of m_new and v_new; with `weight`, table row rows[k] of it
    /// into row k of `new_weight` (every value decayed, g unchanged), else the step over row k of
    /// g. The table rows are prefetched `ahead` rows before their update. Returns 1 when every
    /// new value is finite.
    int (*adam_update_rows)(float *g, const float *m, const float *v, float *m_new, float *v_new, const long *rows,
                            long count, long width, float beta1, float beta2, float correction1, float correction2,
                            float epsilon, const float *weight, float *new_weight, float keep, float rate, float decay,
                            long ahead);
    /// Row p of `basis` (`centers` values) for the distance distances[p]:
    /// e^(max(−γ·(r − k·spacing)², lowest)) for k = 0…centers − 1, 0 where that is below `floor`
    /// (`NetworkKernels.gaussianBasis`); NaN for a NaN distance.
    void (*gaussian_basis)(const float *distances, long pairs, long centers, float spacing, float gamma, float lowest,
                           float floor, float *basis);
    /// The weight gradient of a convolution followed by rectified 2×2 max pooling, one sample's,
    /// from its pooled gradient `dy` (channels × positions/4 windows) and `argmax` (each
    /// window's maximum as an offset in the sample's channels × positions output, −1 for none):
    /// work[o·rows + r] = Σ_q dy[o·w + q]·patches[(argmax[o·w + q] − o·positions)·rows + r],
    /// w = positions/4, r < rows ≤ 32. `patches` holds the sample's patches transposed (positions × rows) and is read up
    /// to 32 values past the last position's.
    void (*pooled_weight_gradient)(const float *dy, const int32_t *argmax, long channels, long positions,
                                   const float *patches, long rows, float *work);
    /// 2×2 max pooling of one sample's output laid out by position (`yt`: height·width rows of
    /// `channels` values; height and width even) into its pooled planes (`y`, `argmax`: channel
    /// o's height/2 · width/2 windows at o·height·width/4), as `max_pool_plane` pools, the
    /// argmax an offset o·height·width + position in the sample's channel-major output.
    void (*max_pool_positions)(const float *yt, long channels, long height, long width, int rectify, float *y,
                               int32_t *argmax);
} ngplus_float_loops;

/// The loops compiled for `level`; the baseline's where this architecture has no such level.
/// The caller checks that the processor and the operating system offer the level.
ngplus_float_loops ngplus_float_loops_at(ngplus_float_level level);

#endif
