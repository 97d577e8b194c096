// Batch normalization's passes over rows first_row..<first_row + row_count of sample-major rows
// of channels·positions values. Channel c of sample b is a run of `positions` values, run
// b·channels + c, at that times `positions`: the runs of a row follow each other. Each pass reads
// its rows front to back, so that memory streams in order (a channel's runs across the batch
// are a whole row apart, which the hardware fetches one run at a time); a run read twice is
// then in L1. The passes write per-run figures that the caller combines over the batch in a
// fixed order, so the results do not depend on how the rows were shared. Included by
// FloatLoops.c only.
#ifndef NGPLUS_BATCH_NORM_LOOPS_H
#define NGPLUS_BATCH_NORM_LOOPS_H

#include <string.h>
#include "Lanes.h"

// For each run: the mean m of its values into moments[2·run] and Σ (x − m)² into the next slot
// (two passes over the run, the second from L1).
static inline __attribute__((always_inline)) void batch_norm_moments_loop(
    const float *x, long first_row, long row_count, long channels, long positions, float *moments) {
    for (long run = first_row * channels; run < (first_row + row_count) * channels; run++) {
        const float *values = x + run * positions;
        float mean = row_sum(values, positions) / (float)positions;
        moments[2 * run] = mean;
        moments[2 * run + 1] = row_squared_deviations(values, mean, positions);
    }
}

// y = γ·((x − μ)·(1/σ)) + β, or with `rectify` its ReLU: `0 ≥ v ? 0 : v` keeps a NaN and makes
// −0 into 0, as Swift's `max(v, 0)` does.
static inline __attribute__((always_inline)) void batch_norm_apply_loop(
    const float *x, long first_row, long row_count, long channels, long positions, const float *mean,
    const float *inverse_deviation, const float *gain, const float *bias, int rectify, float *y) {
    for (long run = first_row * channels; run < (first_row + row_count) * channels; run++) {
        long c = run % channels;
        const float *values = x + run * positions;
        float *out = y + run * positions;
        float average = mean[c], inverse = inverse_deviation[c], scale = gain[c], shift = bias[c];
        if (rectify) {
#pragma clang loop vectorize(assume_safety)
            for (long p = 0; p < positions; p++) {
                float v = (values[p] - average) * inverse * scale + shift;
                out[p] = 0 >= v ? 0 : v;
            }
        } else {
#pragma clang loop vectorize(assume_safety)
            for (long p = 0; p < positions; p++) out[p] = (values[p] - average) * inverse * scale + shift;
        }
    }
}

// dy, masked by `rectified_output` > 0 when not NULL (the forward pass's y of a fused ReLU),
// copied into dx; for each run, Σ dy into sums[2·run] and Σ dy·x̂ into the next slot,
// x̂ = (x − μ)·(1/σ) formed as the forward pass formed it.
static inline __attribute__((always_inline)) void batch_norm_gradient_sums_loop(
    const float *dy, const float *rectified_output, const float *x, long first_row, long row_count, long channels,
    long positions, const float *mean, const float *inverse_deviation, float *dx, float *sums) {
    for (long run = first_row * channels; run < (first_row + row_count) * channels; run++) {
        long c = run % channels, offset = run * positions;
        float *gradient = dx + offset;
        if (rectified_output) {
            const float *kept = rectified_output + offset, *incoming = dy + offset;
#pragma clang loop vectorize(assume_safety)
            for (long p = 0; p < positions; p++) gradient[p] = kept[p] > 0 ? incoming[p] : 0;
        } else {
            memcpy(gradient, dy + offset, (size_t)positions * sizeof *gradient);
        }
        sums[2 * run] = row_sum(gradient, positions);
        sums[2 * run + 1] = row_dot_normalized(gradient, x + offset, mean[c], inverse_deviation[c], positions);
    }
}

// dx (holding dy) becomes scale·(dy − a − x̂·w) per channel: γ·(1/σ), mean(dy) and
// mean(dy·x̂) with the batch's statistics, a = w = 0 with the running ones.
static inline __attribute__((always_inline)) void batch_norm_gradient_apply_loop(
    const float *x, long first_row, long row_count, long channels, long positions, const float *mean,
    const float *inverse_deviation, const float *scale, const float *mean_gradient, const float *mean_weighted,
    float *dx) {
    for (long run = first_row * channels; run < (first_row + row_count) * channels; run++) {
        long c = run % channels;
        const float *values = x + run * positions;
        float *gradient = dx + run * positions;
        float average = mean[c], inverse = inverse_deviation[c], factor = scale[c];
        float shift = mean_gradient[c], slope = mean_weighted[c];
#pragma clang loop vectorize(assume_safety)
        for (long p = 0; p < positions; p++)
            gradient[p] = factor * (gradient[p] - shift - (values[p] - average) * inverse * slope);
    }
}

#endif
