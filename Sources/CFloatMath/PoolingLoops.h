// 2×2 max pooling, included by FloatLoops.c only.
#ifndef NGPLUS_POOLING_LOOPS_H
#define NGPLUS_POOLING_LOOPS_H

#include <stdint.h>

// 2×2 max pooling of one plane, the plane at offset `input` of x, into `y`. Each window's
// maximum by selects, not branches (which of four values is largest is a coin toss a branch
// predictor loses): the first of equal values in the order top-left, top-right, bottom-left,
// bottom-right; its offset in x kept, or −1 where a rectified output is 0.
static inline __attribute__((always_inline)) void max_pool_plane_loop(
    const float *x, long input, long height, long width, int rectify, float *y, int32_t *argmax) {
    long oh = height / 2, ow = width / 2;
    for (long oy = 0; oy < oh; oy++) {
        const float *top = x + input + 2 * oy * width, *bottom = top + width;
        int32_t row = (int32_t)(input + 2 * oy * width);
        float *out = y + oy * ow;
        int32_t *at = argmax + oy * ow;
        for (long ox = 0; ox < ow; ox++) {
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

#endif
