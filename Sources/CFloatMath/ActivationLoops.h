// GELU and its gradient, and shifted exponentials: elementwise loops over the transcendentals
// of CFloatMath.h, included by FloatLoops.c only.
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

static inline __attribute__((always_inline)) void shifted_exponentials_loop(
    const float *x, float *y, long count, float shift) {
#pragma clang loop vectorize(assume_safety)
    for (long i = 0; i < count; i++) y[i] = ngplus_expf(x[i] - shift);
}

#endif
