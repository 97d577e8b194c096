// Row-wise loops: the causal softmax and its gradient, layer normalization and its
// gradients, softmax cross-entropy. Included by FloatLoops.c only.
#ifndef NGPLUS_ROW_LOOPS_H
#define NGPLUS_ROW_LOOPS_H

#include <math.h>
#include <string.h>
#include "ActivationLoops.h"
#include "Lanes.h"

// Row i of a causal block covers columns 0…i. Its loops run over the span: i + 1 rounded up
// to sixteen columns, at most the block's size, so that they have no scalar tail (a scalar
// exponential costs about as much as a vector of sixteen).
static inline __attribute__((always_inline)) long causal_span(long count, long size) {
    long span = (count + 15) / 16 * 16;
    return span < size ? span : size;
}

// Columns count…span − 1 of a row set to `value`: one vector store where the span holds a
// vector (single stores, then vector loads that overlap them, stall the loads).
static inline __attribute__((always_inline)) void fill_after(float *row, long count, long span, float value) {
    if (count == span) return;
    if (span < 16) {
        for (long j = count; j < span; j++) row[j] = value;
        return;
    }
    const int_lanes16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const lanes16 filled = value;
    float *last = row + span - 16;
    int_lanes16 kept = lane < (int)(count - (span - 16)), bits = (int_lanes16)load16(last);
    store16(last, (lanes16)((bits & kept) | ((int_lanes16)filled & ~kept)));
}

// Rows a causal softmax takes through each of its passes before the next pass. One row at a
// time, each row's maximum, exponentials, sum and scaling wait on each other and the processor
// has little to overlap; pass by pass, the rows are independent (and in L1): measured twice
// as fast on 128-wide blocks of 16 rows.
enum { softmax_group = 16 };

// The span's columns after i are set to −∞ first, so that they take no part in the maximum,
// then to the maximum itself, so that their exponentials are 1 — e^(−∞) would be formed as a
// subnormal product, a microcode assist a vector on an Intel core (92 ns a row of a 128-key
// block against 43.5: docs/measurements/dense-passes-2026-12-07.md) — and their exponentials
// to 0 before the sum. Each row is scaled by the reciprocal of its sum.
static inline __attribute__((always_inline)) void causal_softmax_loop(
    float *scores, long rows, long first_row, long size, long leading) {
    for (long first = 0; first < rows; first += softmax_group) {
        long group = rows - first < softmax_group ? rows - first : softmax_group;
        float *block = scores + first * leading;
        long first_count = first_row + first + 1;
        float shift[softmax_group], scale[softmax_group];
        for (long r = 0; r < group; r++) {
            long count = first_count + r, span = causal_span(count, size);
            fill_after(block + r * leading, count, span, -INFINITY);
            shift[r] = row_maximum(block + r * leading, span);
        }
        for (long r = 0; r < group; r++) {
            float *row = block + r * leading;
            long count = first_count + r, span = causal_span(count, size);
            fill_after(row, count, span, shift[r]);
            shifted_exponentials_loop(row, row, span, shift[r]);
            fill_after(row, count, span, 0);
            for (long j = span; j < size; j++) row[j] = 0;
        }
        for (long r = 0; r < group; r++)
            scale[r] = 1 / row_sum(block + r * leading, causal_span(first_count + r, size));
        for (long r = 0; r < group; r++) {
            float *row = block + r * leading, factor = scale[r];
            long span = causal_span(first_count + r, size);
#pragma clang loop vectorize(assume_safety)
            for (long j = 0; j < span; j++) row[j] *= factor;
        }
    }
}

// P is 0 on the span's columns after i (the forward pass wrote it so): they add nothing to the
// row's dot product, and their gradients are set to 0 after.
static inline __attribute__((always_inline)) void causal_softmax_backward_loop(
    const float *probabilities, float *gradient, long rows, long first_row, long size, long leading) {
    for (long r = 0; r < rows; r++) {
        const float *p = probabilities + r * leading;
        float *g = gradient + r * leading;
        long count = first_row + r + 1, span = causal_span(count, size);
        float dot = row_dot(p, g, span);
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < span; j++) g[j] = p[j] * (g[j] - dot);
        memset(g + count, 0, (size_t)(size - count) * sizeof *g);
    }
}

// x̂_j = (x_j − μ)·(1/σ) is formed where it is used, forward and backward, from x, μ and 1/σ:
// the same operations, so the same bits, as a stored x̂, without a row of x̂ written forward and
// read back.
static inline __attribute__((always_inline)) void layer_norm_loop(
    const float *x, long rows, long width, const float *gain, const float *bias, float epsilon, float *y,
    float *means, float *inverse_deviation) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * width;
        float *out = y + r * width;
        float mean = row_sum(row, width) / (float)width;
        float inverse = 1 / sqrtf(row_squared_deviations(row, mean, width) / (float)width + epsilon);
        means[r] = mean;
        inverse_deviation[r] = inverse;
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < width; j++) out[j] = (row[j] - mean) * inverse * gain[j] + bias[j];
    }
}

// dx holds g = dy ⊙ γ, then the gradient; the row's two means are `row_sum` and
// `row_dot_normalized`, the dot product with x̂.
static inline __attribute__((always_inline)) void layer_norm_backward_loop(
    const float *dy, const float *x, const float *means, const float *inverse_deviation, long rows, long width,
    const float *gain, float *dx, float *gain_gradient, float *bias_gradient) {
    memset(gain_gradient, 0, (size_t)width * sizeof *gain_gradient);
    memset(bias_gradient, 0, (size_t)width * sizeof *bias_gradient);
    for (long r = 0; r < rows; r++) {
        const float *grad = dy + r * width, *row = x + r * width;
        float *out = dx + r * width;
        float center = means[r], inverse = inverse_deviation[r];
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < width; j++) {
            out[j] = grad[j] * gain[j];
            gain_gradient[j] += grad[j] * ((row[j] - center) * inverse);
            bias_gradient[j] += grad[j];
        }
        float mean = row_sum(out, width) / (float)width;
        float weighted_mean = row_dot_normalized(out, row, center, inverse, width) / (float)width;
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < width; j++)
            out[j] = inverse * (out[j] - mean - ((row[j] - center) * inverse) * weighted_mean);
    }
}

// Per row: the largest logit m, e_j = e^(z_j − m) in the gradient's row and their sum s; the
// row's loss m + log s − z_label, in double; then g_j = e_j/(s·B), and at the label
// (e_label/s − 1)/B. Returns the sum of the rows' losses.
static inline __attribute__((always_inline)) double softmax_cross_entropy_loop(
    const float *logits, long rows, long classes, long leading, const long *labels, float *gradient) {
    double total = 0;
    float count = (float)rows;
    for (long r = 0; r < rows; r++) {
        const float *z = logits + r * leading;
        float *g = gradient + r * classes;
        float largest = row_maximum(z, classes);
        shifted_exponentials_loop(z, g, classes, largest);
        float sum = row_sum(g, classes);
        long label = labels[r];
        total += (double)largest + log((double)sum) - (double)z[label];
        float label_probability = g[label] / sum, scale = 1 / (sum * count);
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < classes; j++) g[j] *= scale;
        g[label] = (label_probability - 1) / count;
    }
    return total;
}

#endif
