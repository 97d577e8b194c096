// 2×2 max pooling and the weight gradient of a convolution pooled so, included by FloatLoops.c
// only.
#ifndef NGPLUS_POOLING_LOOPS_H
#define NGPLUS_POOLING_LOOPS_H

#include <stdint.h>

// Eight windows' maxima by selects, on lanes: `top` and `bottom` point at the 16 values of
// their top and bottom rows, `first` is the first window's top-left offset in x. The first of
// equal values wins in the order top-left, top-right, bottom-left, bottom-right, and a NaN
// never replaces a value (a comparison with it is false), as in the scalar loop.
static inline __attribute__((always_inline)) void max_pool_eight(
    const float *top, const float *bottom, int32_t first, long width, int rectify, float *y, int32_t *argmax) {
    const lanes16 t = load16(top), b = load16(bottom);
    const int_lanes8 offset = first + (int_lanes8){0, 2, 4, 6, 8, 10, 12, 14};
    lanes8 value = __builtin_shufflevector(t, t, 0, 2, 4, 6, 8, 10, 12, 14);
    int_lanes8 best = offset;
    lanes8 candidates[3] = {
        __builtin_shufflevector(t, t, 1, 3, 5, 7, 9, 11, 13, 15),
        __builtin_shufflevector(b, b, 0, 2, 4, 6, 8, 10, 12, 14),
        __builtin_shufflevector(b, b, 1, 3, 5, 7, 9, 11, 13, 15),
    };
    int steps[3] = {1, (int)width, (int)width + 1};
    for (int k = 0; k < 3; k++) {
        int_lanes8 larger = candidates[k] > value;
        best = (larger & (offset + steps[k])) | (~larger & best);
        value = (lanes8)(((int_lanes8)candidates[k] & larger) | ((int_lanes8)value & ~larger));
    }
    int_lanes8 passes = rectify ? (value > 0) : (int_lanes8)(-1);
    store8(y, (lanes8)((int_lanes8)value & passes));
    store8i(argmax, best | ~passes);
}

// 2×2 max pooling of one plane, the plane at offset `input` of x, into `y`. Each window's
// maximum by selects, not branches (which of four values is largest is a coin toss a branch
// predictor loses): the first of equal values in the order top-left, top-right, bottom-left,
// bottom-right; its offset in x kept, or −1 where a rectified output is 0. Eight windows at a
// time on lanes (`max_pool_eight`) where their 16-value rows lie inside the plane and their
// eight outputs inside the plane's outputs: a last block of a row reads into the next row and
// writes into the next row's outputs, which that row then overwrites. The rest one at a time.
static inline __attribute__((always_inline)) void max_pool_plane_loop(
    const float *x, long input, long height, long width, int rectify, float *y, int32_t *argmax) {
    long oh = height / 2, ow = width / 2;
    for (long oy = 0; oy < oh; oy++) {
        const float *top = x + input + 2 * oy * width, *bottom = top + width;
        int32_t row = (int32_t)(input + 2 * oy * width);
        float *out = y + oy * ow;
        int32_t *at = argmax + oy * ow;
        long ox = 0;
        for (; ox < ow && (2 * oy + 1) * width + 2 * ox + 16 <= height * width && oy * ow + ox + 8 <= oh * ow; ox += 8) {
            max_pool_eight(top + 2 * ox, bottom + 2 * ox, row + 2 * (int32_t)ox, width, rectify, out + ox, at + ox);
        }
        for (; ox < ow; ox++) {
            int32_t offset = row + 2 * (int32_t)ox, best = offset;
            float value = top[2 * ox], candidate = top[2 * ox + 1];
            best = candidate > value ? offset + 1 : best;
            value = candidate > value ? candidate : value;
            candidate = bottom[2 * ox];
            best = candidate > value ? offset + (int32_t)width : best;
            value = candidate > value ? candidate : value;
            candidate = bottom[2 * ox + 1];
            best = candidate > value ? offset + (int32_t)width + 1 : best;
            value = candidate > value ? candidate : value;
            int passes = !rectify || value > 0;
            out[ox] = passes ? value : 0;
            at[ox] = passes ? best : -1;
        }
    }
}

// The 2×2 window with top-left position p of a sample's output laid out by position (`yt`,
// rows of `channels` values `width` positions wide), on the sixteen channels from `first`:
// the maxima (0 where a rectified one is not above 0) and their offsets o·positions + p' in the
// channel-major output (`planes` holds o·positions for each lane; −1 where rectified to 0).
// The selects of `max_pool_eight`.
static inline __attribute__((always_inline)) void max_pool_position_window(
    const float *yt, long channels, long first, long width, long p, const int_lanes16 *planes, int rectify,
    lanes16 *maxima, lanes16 *offsets) {
    long at[4] = {p, p + 1, p + width, p + width + 1};
    lanes16 value = load16(yt + at[0] * channels + first);
    int_lanes16 best = *planes + (int)at[0];
    for (int k = 1; k < 4; k++) {
        lanes16 candidate = load16(yt + at[k] * channels + first);
        int_lanes16 larger = candidate > value;
        best = (larger & (*planes + (int)at[k])) | (~larger & best);
        value = (lanes16)(((int_lanes16)candidate & larger) | ((int_lanes16)value & ~larger));
    }
    int_lanes16 passes = rectify ? (value > 0) : (int_lanes16)(-1);
    *maxima = (lanes16)((int_lanes16)value & passes);
    *offsets = (lanes16)(best | ~passes);
}

// 2×2 max pooling of a sample's output laid out by position (`yt`: `height·width` rows of
// `channels` values, as a convolution computed with its positions as rows leaves it) into
// the sample's pooled planes (`y`, `argmax`: a row of height/2 · width/2 windows for each
// channel), with the selects of `max_pool_eight` on sixteen channels at a time: the first of
// equal values in the order top-left, top-right, bottom-left, bottom-right, a NaN never
// replacing a value; `argmax` the maximum's offset o·positions + p in the sample's
// channel-major output, or −1 where a rectified output is 0. Sixteen windows' results (16
// channels each) are transposed in registers and stored sixteen windows of a channel at a time,
// the last block of windows overlapping the one before: a value at a time, each store on a
// channel's row of its own, a 64-channel 14 × 14 sample took 3.8 µs against 2.9 (Intel, one
// thread: docs/measurements/pooling-selects-2026-12-07.md). The last channels, fewer than 16, are
// the tail of a block ending at the last channel (which stores only its own), or one at a time
// when there are fewer than 16 channels; fewer than 16 windows go one at a time.
static inline __attribute__((always_inline)) void max_pool_positions_loop(
    const float *yt, long channels, long height, long width, int rectify, float *y, int32_t *argmax) {
    long positions = height * width, ow = width / 2, windows = positions / 4;
    for (long o = 0; o < channels; o += 16) {
        long first = channels < 16 || o + 16 <= channels ? o : channels - 16;
        long count = channels < 16 ? channels : 16;
        int_lanes16 planes = (int_lanes16){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        planes = (planes + (int)first) * (int)positions;
        if (count == 16 && windows >= 16) {
            for (long block = 0; block < windows; block += 16) {
                long q0 = block + 16 <= windows ? block : windows - 16;
                lanes16 maxima[16], offsets[16];
                long oy = q0 / ow, ox = q0 - oy * ow;
                for (int l = 0; l < 16; l++) {
                    max_pool_position_window(
                        yt, channels, first, width, 2 * oy * width + 2 * ox, &planes, rectify, &maxima[l], &offsets[l]);
                    if (++ox == ow) {
                        ox = 0;
                        oy++;
                    }
                }
                transpose16(maxima);
                transpose16(offsets);
                for (long t = o - first; t < 16; t++) {
                    store16(y + (first + t) * windows + q0, maxima[t]);
                    store16i(argmax + (first + t) * windows + q0, (int_lanes16)offsets[t]);
                }
            }
            continue;
        }
        for (long oy = 0; oy < height / 2; oy++) {
            for (long ox = 0; ox < ow; ox++) {
                long p = 2 * oy * width + 2 * ox, q = oy * ow + ox;
                float held[16] __attribute__((aligned(64)));
                int32_t where[16] __attribute__((aligned(64)));
                if (count == 16) {
                    lanes16 maxima, offsets;
                    max_pool_position_window(yt, channels, first, width, p, &planes, rectify, &maxima, &offsets);
                    store16(held, maxima);
                    store16i(where, (int_lanes16)offsets);
                } else {
                    long at[4] = {p, p + 1, p + width, p + width + 1};
                    for (long l = 0; l < count; l++) {
                        long best = at[0];
                        float value = yt[at[0] * channels + first + l];
                        for (int k = 1; k < 4; k++) {
                            float candidate = yt[at[k] * channels + first + l];
                            best = candidate > value ? at[k] : best;
                            value = candidate > value ? candidate : value;
                        }
                        int passes = !rectify || value > 0;
                        held[l] = passes ? value : 0;
                        where[l] = passes ? (int32_t)((first + l) * positions + best) : -1;
                    }
                }
                for (long l = o - first; l < count; l++) {
                    y[(first + l) * windows + q] = held[l];
                    argmax[(first + l) * windows + q] = where[l];
                }
            }
        }
    }
}

// One window's contribution to a channel's weight gradient: its gradient times the `rows`
// (at most 32) patch values of its maximum's position, whose row of the transposed patches
// starts at `column`, added to the sums where `window_passes` is 1 and not where it is 0 (a
// window without a maximum). A select rather than a branch: whether a rectified window passes
// is a coin toss the branch predictor loses, and the sums it leaves are the ones a branch
// would leave, bit for bit.
static inline __attribute__((always_inline)) void pooled_window(
    float gradient, const float *column, long rows, int window_passes, lanes16 *low, lanes16 *high) {
    int_lanes16 passes = -window_passes;
    *low = (lanes16)(((int_lanes16)(*low + gradient * load16(column)) & passes) | ((int_lanes16)*low & ~passes));
    if (rows > 16)
        *high = (lanes16)(((int_lanes16)(*high + gradient * load16(column + 16)) & passes) | ((int_lanes16)*high & ~passes));
}

// work[o·rows + r] = Σ_q dy[o·w + q]·patches[(argmax[o·w + q] − o·positions)·rows + r] over the
// w = positions/4 windows q of channel o that have a maximum (argmax ≥ 0): the weight gradient of a
// convolution followed by rectified 2×2 max pooling, from the pooled gradient alone, since the
// full-resolution gradient is zero but at the maxima. `patches` is one sample's patches
// transposed, a position's `rows` values together, readable 32 values past the last position's.
// Four windows at a time, each into its own sums (the multiply-add's latency), added at the end;
// a window without a maximum reads its channel's first position and adds nothing.
static inline __attribute__((always_inline)) void pooled_weight_gradient_loop(
    const float *dy, const int32_t *argmax, long channels, long positions, const float *patches, long rows,
    float *work) {
    long windows = positions / 4;
    for (long o = 0; o < channels; o++) {
        const float *g = dy + o * windows;
        const int32_t *at = argmax + o * windows;
        const float *channel = patches - o * positions * rows;
        lanes16 low[4] = {0, 0, 0, 0}, high[4] = {0, 0, 0, 0};
#define NGPLUS_POOLED_WINDOW(q, sums)                                                                     \
    {                                                                                                   \
        int32_t offset = at[q];                                                                         \
        long position = offset >= 0 ? offset : o * positions;                                           \
        pooled_window(g[q], channel + position * rows, rows, offset >= 0, &low[sums], &high[sums]); \
    }
        long q = 0;
        for (; q + 4 <= windows; q += 4)
            for (int k = 0; k < 4; k++) NGPLUS_POOLED_WINDOW(q + k, k)
        for (; q < windows; q++) NGPLUS_POOLED_WINDOW(q, 0)
#undef NGPLUS_POOLED_WINDOW
        lanes16 sums[2] = {(low[0] + low[1]) + (low[2] + low[3]), (high[0] + high[1]) + (high[2] + high[3])};
        float held[32];
        store16(held, sums[0]);
        store16(held + 16, sums[1]);
        for (long r = 0; r < rows; r++) work[o * rows + r] = held[r];
    }
}

#endif
