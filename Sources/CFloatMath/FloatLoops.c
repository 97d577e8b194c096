#include "CFloatMath.h"

// Each loop is written once, always inlined into one function per vector level, which the
// compiler vectorizes at that level's width (and contracts a·b + c to FMA where it has it).
// `assume_safety`: the loops are elementwise, so an output equal to its input is safe.

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

#define NGPLUS_FLOAT_LOOPS(suffix, attributes)                                                        \
    attributes static void gelu_##suffix(const float *x, float *y, float *cumulative, long count) {   \
        gelu_loop(x, y, cumulative, count);                                                           \
    }                                                                                                 \
    attributes static void gelu_backward_##suffix(                                                    \
        const float *x, const float *cumulative, const float *dy, float *dx, long count) {            \
        gelu_backward_loop(x, cumulative, dy, dx, count);                                             \
    }                                                                                                 \
    attributes static void shifted_exponentials_##suffix(const float *x, float *y, long count, float shift) { \
        shifted_exponentials_loop(x, y, count, shift);                                                \
    }                                                                                                 \
    static const ngplus_float_loops loops_##suffix = {                                                \
        gelu_##suffix, gelu_backward_##suffix, shifted_exponentials_##suffix};

NGPLUS_FLOAT_LOOPS(baseline, )

#if defined(__x86_64__)
NGPLUS_FLOAT_LOOPS(avx2, __attribute__((target("avx2,fma"))))
NGPLUS_FLOAT_LOOPS(avx512, __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))))
#endif

ngplus_float_loops ngplus_float_loops_at(ngplus_float_level level) {
#if defined(__x86_64__)
    switch (level) {
    case ngplus_float_level_avx512: return loops_avx512;
    case ngplus_float_level_avx2: return loops_avx2;
    case ngplus_float_level_baseline: break;
    }
#else
    (void)level;
#endif
    return loops_baseline;
}
