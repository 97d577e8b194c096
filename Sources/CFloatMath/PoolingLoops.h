// 2×2 max pooling, included by FloatLoops.c only.
#ifndef NGPLUS_POOLING_LOOPS_H
#define NGPLUS_POOLING_LOOPS_H

#include <stdint.h>

// The input plane of (sample, channel): sample-major (channel_major_batch 0) or channel-major.
static inline __attribute__((always_inline)) long pooling_plane(
    long sample, long channel, long channels, long channel_major_batch) {
    return channel_major_batch > 0 ? channel * channel_major_batch + sample : sample * channels + channel;
}

// 2×2 max pooling of samples first…first + samples − 1, plane by plane into a sample-major
// output. Each window's maximum by selects, not branches (which of four values is largest is
// a coin toss a branch predictor loses): the first of equal values in the order top-left,
// top-right, bottom-left, bottom-right; its offset in the whole input kept, or −1 where a
// rectified output is 0.
static inline __attribute__((always_inline)) void max_pool_loop(
    const float *x, long channels, long height, long width, long channel_major_batch, long first, long samples,
    int rectify, float *y, int32_t *argmax) {
    long oh = height / 2, ow = width / 2;
    for (long sample = first; sample < first + samples; sample++) {
        for (long channel = 0; channel < channels; channel++) {
            long input = pooling_plane(sample, channel, channels, channel_major_batch) * height * width;
            long output = (sample * channels + channel) * oh * ow;
            for (long oy = 0; oy < oh; oy++) {
                const float *top = x + input + 2 * oy * width, *bottom = top + width;
                int32_t row = (int32_t)(input + 2 * oy * width);
                float *out = y + output + oy * ow;
                int32_t *at = argmax + output + oy * ow;
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
    }
}

#endif
