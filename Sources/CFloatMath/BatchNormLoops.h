// Batch normalization's passes over rows first_row..<first_row + row_count of sample-major
// rows of `width` = channels·positions values: channel c of sample b is the `positions` values
// at b·width + c·positions. Each pass reads its rows front to back, so that memory streams in
// order (a channel's values across the batch are short runs `width` apart, which the hardware
// fetches one run at a time); a sample's channel, read twice, is then in L1. The passes write
// per-sample figures that the caller combines over the batch in a fixed order, so the results
// do not depend on how the rows were shared. Included by FloatLoops.c only.
#ifndef NGPLUS_BATCH_NORM_LOOPS_H
#define NGPLUS_BATCH_NORM_LOOPS_H

#include <string.h>
#include "Lanes.h"

// For each sample b and channel c: the mean m of its values into moments[2·(b·channels + c)]
// and Σ (x − m)² into the next slot (two passes over the run, the second from L1).
static inline __attribute__((always_inline)) void batch_norm_moments_loop(
    const float *x, long first_row, long row_count, long channels, long positions, float *moments) {
    long width = channels * positions;
    for (long b = first_row; b < first_row + row_count; b++) {
        for (long c = 0; c < channels; c++) {
            const float *run = x + b * width + c * positions;
            float mean = row_sum(run, positions) / (float)positions;
            moments[2 * (b * channels + c)] = mean;
            moments[2 * (b * channels + c) + 1] = row_squared_deviations(run, mean, positions);
        }
    }
}

// y = γ·((x − μ)·(1/σ)) + β, or with `rectify` its ReLU: `0 ≥ v ? 0 : v` keeps a NaN and makes
// −0 into 0, as Swift's `max(v, 0)` does.
static inline __attribute__((always_inline)) void batch_norm_apply_loop(
    const float *x, long first_row, long row_count, long channels, long positions, const float *mean,
    const float *inverse_deviation, const float *gain, const float *bias, int rectify, float *y) {
    long width = channels * positions;
    for (long b = first_row; b < first_row + row_count; b++) {
        for (long c = 0; c < channels; c++) {
            const float *run = x + b * width + c * positions;
            float *out = y + b * width + c * positions;
            float average = mean[c], inverse = inverse_deviation[c], scale = gain[c], shift = bias[c];
            if (rectify) {
#pragma clang loop vectorize(assume_safety)
                for (long p = 0; p < positions; p++) {
                    float v = (run[p] - average) * inverse * scale + shift;
                    out[p] = 0 >= v ? 0 : v;
                }
            } else {
#pragma clang loop vectorize(assume_safety)
                for (long p = 0; p < positions; p++) out[p] = (run[p] - average) * inverse * scale + shift;
            }
        }
    }
}

// dy, masked by `rectified_output` > 0 when not NULL (the forward pass's y of a fused ReLU),
// copied into dx; for each sample b and channel c, Σ dy into sums[2·(b·channels + c)] and
// Σ dy·x̂ into the next slot, x̂ = (x − μ)·(1/σ) formed as the forward pass formed it.
static inline __attribute__((always_inline)) void batch_norm_gradient_sums_loop(
    const float *dy, const float *rectified_output, const float *x, long first_row, long row_count, long channels,
    long positions, const float *mean, const float *inverse_deviation, float *dx, float *sums) {
    long width = channels * positions;
    for (long b = first_row; b < first_row + row_count; b++) {
        for (long c = 0; c < channels; c++) {
            long offset = b * width + c * positions;
            const float *grad = dy + offset;
            float *out = dx + offset;
            if (rectified_output) {
                const float *kept = rectified_output + offset;
#pragma clang loop vectorize(assume_safety)
                for (long p = 0; p < positions; p++) out[p] = kept[p] > 0 ? grad[p] : 0;
            } else {
                memcpy(out, grad, (size_t)positions * sizeof *out);
            }
            sums[2 * (b * channels + c)] = row_sum(out, positions);
            sums[2 * (b * channels + c) + 1] =
                row_dot_normalized(out, x + offset, mean[c], inverse_deviation[c], positions);
        }
    }
}

// dx (holding dy) becomes scale·(dy − a − x̂·w) per channel: γ·(1/σ), mean(dy) and
// mean(dy·x̂) with the batch's statistics, a = w = 0 with the running ones.
static inline __attribute__((always_inline)) void batch_norm_gradient_apply_loop(
    const float *x, long first_row, long row_count, long channels, long positions, const float *mean,
    const float *inverse_deviation, const float *scale, const float *mean_gradient, const float *mean_weighted,
    float *dx) {
    long width = channels * positions;
    for (long b = first_row; b < first_row + row_count; b++) {
        for (long c = 0; c < channels; c++) {
            long offset = b * width + c * positions;
            const float *run = x + offset;
            float *out = dx + offset;
            float average = mean[c], inverse = inverse_deviation[c], factor = scale[c];
            float shift = mean_gradient[c], slope = mean_weighted[c];
#pragma clang loop vectorize(assume_safety)
            for (long p = 0; p < positions; p++)
                out[p] = factor * (out[p] - shift - (run[p] - average) * inverse * slope);
        }
    }
}

#endif
