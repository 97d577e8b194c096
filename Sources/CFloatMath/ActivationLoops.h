// GELU and its gradient, the shifted softplus, shifted exponentials and a Gaussian basis:
// elementwise loops over the transcendentals of CFloatMath.h, included by FloatLoops.c only.
#ifndef NGPLUS_ACTIVATION_LOOPS_H
#define NGPLUS_ACTIVATION_LOOPS_H

#include "CFloatMath.h"

static inline __attribute__((always_inline)) void gelu_loop(const float *x, float *y, float *cumulative, long count) {
    const float root_half = 0.70710678118654752f;
#pragma clang loop vectorize(assume_safety)
    for (long i = 0; i < count; i++) {
        float v = x[i];
        float phi = (1 + ngplus_erff(v * root_half)) * 0.5f;
        cumulative[i] = phi;
        y[i] = v * phi;
    }
}

static inline __attribute__((always_inline)) void gelu_backward_loop(
    const float *x, const float *cumulative, const float *dy, float *dx, long count) {
    const float density = 0.39894228040143268f;
#pragma clang loop vectorize(assume_safety)
    for (long i = 0; i < count; i++) {
        float v = x[i];
        dx[i] = dy[i] * (cumulative[i] + v * density * ngplus_expf(-v * v * 0.5f));
    }
}

// With e = e^(−|x|): ln(1 + eˣ) = max(x, 0) + 2·atanh(t), t = e/(2 + e) ≤ 1/3, the odd series
// 2·Σ t^(2k+1)/(2k+1) to k = 12; σ(x) = (x ≥ 0 ? 1 : e)/(1 + e). No overflow, no branch.
static inline __attribute__((always_inline)) void shifted_softplus_loop(
    const float *x, float *y, float *sigmoid, long count) {
    const float log_two = 0.69314718055994531f;
#pragma clang loop vectorize(assume_safety)
    for (long i = 0; i < count; i++) {
        float v = x[i];
        float magnitude = ngplus_float_from_bits(ngplus_float_bits(v) & 0x7fffffffu);
        float e = ngplus_expf(-magnitude);
        float t = e / (2 + e);
        float t2 = t * t;
        float series = 1.0f / 25;
        series = series * t2 + 1.0f / 23;
        series = series * t2 + 1.0f / 21;
        series = series * t2 + 1.0f / 19;
        series = series * t2 + 1.0f / 17;
        series = series * t2 + 1.0f / 15;
        series = series * t2 + 1.0f / 13;
        series = series * t2 + 1.0f / 11;
        series = series * t2 + 1.0f / 9;
        series = series * t2 + 1.0f / 7;
        series = series * t2 + 1.0f / 5;
        series = series * t2 + 1.0f / 3;
        series = series * t2 + 1;
        float positive = v > 0 ? v : 0;
        y[i] = positive + 2 * t * series - log_two;
        sigmoid[i] = (v >= 0 ? 1 : e) / (1 + e);
    }
}

static inline __attribute__((always_inline)) void shifted_exponentials_loop(
    const float *x, float *y, long count, float shift) {
#pragma clang loop vectorize(assume_safety)
    for (long i = 0; i < count; i++) y[i] = ngplus_expf(x[i] - shift);
}

// Sixteen values of a Gaussian basis from center `first` on: e^(max(−γ·(r − k·spacing)², lowest)),
// 0 below `floor`, one vector; a NaN distance gives NaN.
static inline __attribute__((always_inline)) void gaussian_basis_block(
    float r, long first, float spacing, float gamma, float lowest, float floor, float *out) {
#pragma clang loop vectorize(assume_safety)
    for (int l = 0; l < 16; l++) {
        float d = r - (float)(first + l) * spacing;
        float argument = -gamma * d * d;
        float value = ngplus_expf(argument < lowest ? lowest : argument);
        out[l] = value < floor ? 0 : value;
    }
}

// Row p of `basis` (`centers` values) for the distance distances[p], sixteen centers at a time. A
// row's last block runs past its end into the rows after it, which are written later; a block
// that would run past the last row goes through a buffer.
static inline __attribute__((always_inline)) void gaussian_basis_loop(
    const float *distances, long pairs, long centers, float spacing, float gamma, float lowest, float floor,
    float *basis) {
    float *end = basis + pairs * centers;
    for (long p = 0; p < pairs; p++) {
        float *row = basis + p * centers;
        for (long first = 0; first < centers; first += 16) {
            if (row + first + 16 <= end) {
                gaussian_basis_block(distances[p], first, spacing, gamma, lowest, floor, row + first);
                continue;
            }
            float held[16];
            gaussian_basis_block(distances[p], first, spacing, gamma, lowest, floor, held);
            for (long l = first; l < centers && l < first + 16; l++) row[l] = held[l - first];
        }
    }
}

#endif
