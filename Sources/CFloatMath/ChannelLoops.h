// Batch normalization's loops, a channel at a time: channel c of sample b is the `positions`
// values at x + b·width + c·positions (sample-major rows of `width` = channels·positions
// values). A channel's values across the batch are read once from memory and again from the
// cache: the caller hands each thread whole channels. Included by FloatLoops.c only.
#ifndef NGPLUS_CHANNEL_LOOPS_H
#define NGPLUS_CHANNEL_LOOPS_H

#include <math.h>
#include <string.h>
#include "Lanes.h"

// Channels first..<first + count: with `batch_statistics`, μ and the biased σ² (two passes,
// the second over the deviations from μ) into mean and variance; otherwise read from them.
// Then 1/√(σ² + ε) into inverse_deviation and y = γ·((x − μ)·(1/σ)) + β, or with `rectify`
// its ReLU: `0 ≥ v ? 0 : v` keeps a NaN and turns −0 into 0, as Swift's `max(v, 0)` does.
static inline __attribute__((always_inline)) void batch_norm_loop(
    const float *x, long rows, long width, long positions, long first, long count, const float *gain,
    const float *bias, float epsilon, int batch_statistics, int rectify, float *mean, float *variance, float *y,
    float *inverse_deviation) {
    float values = (float)(rows * positions);
    for (long c = first; c < first + count; c++) {
        const float *channel = x + c * positions;
        if (batch_statistics) {
            float sum = 0;
            for (long b = 0; b < rows; b++) sum += row_sum(channel + b * width, positions);
            float average = sum / values, squares = 0;
            for (long b = 0; b < rows; b++) squares += row_squared_deviations(channel + b * width, average, positions);
            mean[c] = average;
            variance[c] = squares / values;
        }
        float average = mean[c], inverse = 1 / sqrtf(variance[c] + epsilon);
        float scale = gain[c], shift = bias[c];
        inverse_deviation[c] = inverse;
        for (long b = 0; b < rows; b++) {
            const float *row = channel + b * width;
            float *out = y + b * width + c * positions;
            if (rectify) {
#pragma clang loop vectorize(assume_safety)
                for (long p = 0; p < positions; p++) {
                    float v = (row[p] - average) * inverse * scale + shift;
                    out[p] = 0 >= v ? 0 : v;
                }
            } else {
#pragma clang loop vectorize(assume_safety)
                for (long p = 0; p < positions; p++) out[p] = (row[p] - average) * inverse * scale + shift;
            }
        }
    }
}

// Its gradients for channels first..<first + count: dy (masked by `rectified_output > 0`
// when the forward pass fused a ReLU, `rectified_output` its y) is copied into its place in
// dx, where its sums find it in cache: ∂β = Σ dy, ∂γ = Σ dy·x̂ with x̂ = (x − μ)·(1/σ) formed
// as the forward pass formed it. Then dx = γ·(1/σ)·(dy − mean(dy) − x̂·mean(dy·x̂)) with the
// batch's statistics, or γ·(1/σ)·dy with the running ones (the means taken as 0).
static inline __attribute__((always_inline)) void batch_norm_backward_loop(
    const float *dy, const float *x, const float *mean, const float *inverse_deviation, long rows, long width,
    long positions, long first, long count, const float *gain, int batch_statistics, const float *rectified_output,
    float *dx, float *gain_gradient, float *bias_gradient) {
    float values = (float)(rows * positions);
    for (long c = first; c < first + count; c++) {
        float average = mean[c], inverse = inverse_deviation[c];
        float sum = 0, weighted = 0;
        for (long b = 0; b < rows; b++) {
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
            sum += row_sum(out, positions);
            weighted += row_dot_normalized(out, x + offset, average, inverse, positions);
        }
        gain_gradient[c] = weighted;
        bias_gradient[c] = sum;
        float scale = gain[c] * inverse;
        float mean_gradient = batch_statistics ? sum / values : 0, mean_weighted = batch_statistics ? weighted / values : 0;
        for (long b = 0; b < rows; b++) {
            long offset = b * width + c * positions;
            const float *row = x + offset;
            float *out = dx + offset;
#pragma clang loop vectorize(assume_safety)
            for (long p = 0; p < positions; p++)
                out[p] = scale * (out[p] - mean_gradient - (row[p] - average) * inverse * mean_weighted);
        }
    }
}

#endif
