// Adam's and momentum SGD's updates, included by FloatLoops.c only.
#ifndef NGPLUS_OPTIMIZER_LOOPS_H
#define NGPLUS_OPTIMIZER_LOOPS_H

#include <stdint.h>
#include "CFloatMath.h"

// Adam's new moments of one value, and its step (m′·c₁)/(√(v′·c₂) + ε).
static inline __attribute__((always_inline)) float adam_value(
    float gradient, float m, float v, float beta1, float beta2, float correction1, float correction2, float epsilon,
    float *first, float *second) {
    *first = beta1 * m + (1 - beta1) * gradient;
    *second = beta2 * v + (1 - beta2) * gradient * gradient;
    return (*first * correction1) / (__builtin_elementwise_sqrt(*second * correction2) + epsilon);
}

// One Adam update of `count` values: m′ = β₁·m + (1 − β₁)·g and v′ = β₂·v + (1 − β₂)·g² into
// new buffers, the step (m′·c₁)/(√(v′·c₂) + ε) (c the inverse bias corrections) written over
// g, or with a weight given, w′ = keep·w − rate·step into `new_weight` instead, g having first
// taken the L2 decay, g + decay·w. Returns whether
// every new value is finite: x − x is +0 (no bits set) for a finite x and NaN otherwise, and
// an OR of bits vectorizes where a float sum would not (reordering it changes its rounding).
// At the level's width, with its square root and division (Swift's baseline runs them four
// lanes at a time: 1.9 ns a value). Two loops: one with a branch on `weight` inside was left
// scalar where the step goes over g (6.7 ns a value).
static inline __attribute__((always_inline)) int adam_update_loop(
    float *g, const float *m, const float *v, float *m_new, float *v_new, long count, float beta1, float beta2,
    float correction1, float correction2, float epsilon, const float *weight, float *new_weight, float keep,
    float rate, float decay) {
    uint32_t nonfinite = 0;
    if (weight) {
#pragma clang loop vectorize(assume_safety)
        for (long i = 0; i < count; i++) {
            float first, second;
            float gradient = decay != 0 ? g[i] + decay * weight[i] : g[i];
            float step = adam_value(gradient, m[i], v[i], beta1, beta2, correction1, correction2, epsilon, &first, &second);
            float next = keep * weight[i] - rate * step;
            m_new[i] = first, v_new[i] = second, new_weight[i] = next;
            nonfinite |= ngplus_float_bits(first - first) | ngplus_float_bits(second - second) |
                         ngplus_float_bits(next - next);
        }
    } else {
#pragma clang loop vectorize(assume_safety)
        for (long i = 0; i < count; i++) {
            float first, second;
            float step = adam_value(g[i], m[i], v[i], beta1, beta2, correction1, correction2, epsilon, &first, &second);
            m_new[i] = first, v_new[i] = second, g[i] = step;
            nonfinite |= ngplus_float_bits(first - first) | ngplus_float_bits(second - second) |
                         ngplus_float_bits(step - step);
        }
    }
    return nonfinite == 0;
}

// One momentum update of `count` values: v′ = μ·v + g (v′ = g when `restart`) into a new
// buffer, the step s = g + μ·v′ (Nesterov) or s = v′ written over g, or with a weight given,
// w′ = keep·w − rate·s into `new_weight` instead, g having first taken the L2 decay, g +
// decay·w. Returns whether every new value is finite
// (the bits of x − x, as `adam_update_loop`). Swift's baseline loop (SIMD16 as four SSE
// lanes) took 58–62 µs for 201,000 values split over Zen 4's two cores, this one 27–45.
static inline __attribute__((always_inline)) float momentum_step(float g, float velocity, float mu, int nesterov) {
    return nesterov ? g + mu * velocity : velocity;
}

static inline __attribute__((always_inline)) int momentum_update_loop(
    float *g, const float *v, float *v_new, long count, float mu, int restart, int nesterov, const float *weight,
    float *new_weight, float keep, float rate, float decay) {
    uint32_t nonfinite = 0;
    if (weight) {
#pragma clang loop vectorize(assume_safety)
        for (long i = 0; i < count; i++) {
            float gradient = decay != 0 ? g[i] + decay * weight[i] : g[i];
            float velocity = restart ? gradient : mu * v[i] + gradient;
            float next = keep * weight[i] - rate * momentum_step(gradient, velocity, mu, nesterov);
            v_new[i] = velocity, new_weight[i] = next;
            nonfinite |= ngplus_float_bits(velocity - velocity) | ngplus_float_bits(next - next);
        }
    } else {
#pragma clang loop vectorize(assume_safety)
        for (long i = 0; i < count; i++) {
            float velocity = restart ? g[i] : mu * v[i] + g[i];
            float step = momentum_step(g[i], velocity, mu, nesterov);
            v_new[i] = velocity, g[i] = step;
            nonfinite |= ngplus_float_bits(velocity - velocity) | ngplus_float_bits(step - step);
        }
    }
    return nonfinite == 0;
}

// Starts the misses of table row rows[k] (`bytes` long) of each of up to three tables (the NULL
// ones skipped), when k < count. A sparse step's rows lie anywhere in tables larger than the
// caches: its row loops prefetch the rows `ahead` rows on while one is updated, so that their
// misses overlap.
static inline __attribute__((always_inline)) void prefetch_table_rows(
    const float *first, const float *second, const float *third, const long *rows, long k, long count, long width) {
    if (k >= count) return;
    long bytes = width * (long)sizeof(float), offset = rows[k] * width;
    if (first) ngplus_prefetch_run(first + offset, bytes);
    if (second) ngplus_prefetch_run(second + offset, bytes);
    if (third) ngplus_prefetch_run(third + offset, bytes);
}

// `adam_update_loop` of scattered table rows: for each k, row k of g (rows `width` apart) with
// table row rows[k] of m and v into row k of m_new and v_new, and — when `weight` is not NULL —
// table row rows[k] of `weight` into row k of `new_weight` (g unchanged, every value decayed),
// else the step over row k of g; the table rows prefetched `ahead` rows before their update.
// Returns whether every new value is finite.
static inline __attribute__((always_inline)) int adam_update_rows_loop(
    float *g, const float *m, const float *v, float *m_new, float *v_new, const long *rows, long count, long width,
    float beta1, float beta2, float correction1, float correction2, float epsilon, const float *weight,
    float *new_weight, float keep, float rate, float decay, long ahead) {
    int finite = 1;
    for (long k = 0; k < ahead; k++) prefetch_table_rows(m, v, weight, rows, k, count, width);
    for (long k = 0; k < count; k++) {
        prefetch_table_rows(m, v, weight, rows, k + ahead, count, width);
        long row = rows[k] * width, at = k * width;
        finite &= adam_update_loop(
            g + at, m + row, v + row, m_new + at, v_new + at, width, beta1, beta2, correction1, correction2, epsilon,
            weight ? weight + row : NULL, weight ? new_weight + at : NULL, keep, rate, decay);
    }
    return finite;
}

// `momentum_update_loop` of scattered table rows with their new weights: for each k, row k of g
// (rows `width` apart, unchanged) with table row rows[k] of v and of `weight`, into row k of
// v_new and of `new_weight`, every value decayed; the table rows prefetched `ahead` rows before
// their update. Returns whether every new value is finite.
static inline __attribute__((always_inline)) int momentum_update_rows_loop(
    float *g, const float *v, float *v_new, const long *rows, long count, long width, float mu, int restart,
    int nesterov, const float *weight, float *new_weight, float keep, float rate, float decay, long ahead) {
    int finite = 1;
    for (long k = 0; k < ahead; k++) prefetch_table_rows(v, weight, NULL, rows, k, count, width);
    for (long k = 0; k < count; k++) {
        prefetch_table_rows(v, weight, NULL, rows, k + ahead, count, width);
        long row = rows[k] * width, at = k * width;
        finite &= momentum_update_loop(
            g + at, v + row, v_new + at, width, mu, restart, nesterov, weight + row, new_weight + at, keep, rate, decay);
    }
    return finite;
}

#endif
