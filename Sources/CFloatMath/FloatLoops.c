#include "CFloatMath.h"

#include <math.h>
#include <stddef.h>

// Each loop is written once, always inlined into one function per vector level, which the
// compiler vectorizes at that level's width (and contracts a·b + c to FMA where it has it).
// `assume_safety`: the loops are elementwise, so an output equal to its input is safe. A loop
// that asks for vectorization and does not get it is a build error, not a warning: a scalar
// loop here runs several times slower and nothing else would say so.
#pragma clang diagnostic error "-Wpass-failed"

#include "ActivationLoops.h"
#include "BatchNormLoops.h"
#include "Lanes.h"
#include "OptimizerLoops.h"
#include "PoolingLoops.h"
#include "ProductLoops.h"
#include "RowLoops.h"

#define NGPLUS_FLOAT_LOOPS(suffix, attributes, tile_rows_held, wide_rows_held)                       \
    attributes static void gelu_##suffix(const float *x, float *y, float *cumulative, long count) {   \
        gelu_loop(x, y, cumulative, count);                                                           \
    }                                                                                                 \
    attributes static void gelu_backward_##suffix(                                                    \
        const float *x, const float *cumulative, const float *dy, float *dx, long count) {            \
        gelu_backward_loop(x, cumulative, dy, dx, count);                                             \
    }                                                                                                 \
    attributes static void shifted_softplus_##suffix(const float *x, float *y, float *sigmoid, long count) { \
        shifted_softplus_loop(x, y, sigmoid, count);                                                  \
    }                                                                                                 \
    attributes static void shifted_exponentials_##suffix(const float *x, float *y, long count, float shift) { \
        shifted_exponentials_loop(x, y, count, shift);                                                \
    }                                                                                                 \
    attributes static void gaussian_basis_##suffix(                                                   \
        const float *distances, long pairs, long centers, float spacing, float gamma, float lowest, float floor, \
        float *basis) {                                                                               \
        gaussian_basis_loop(distances, pairs, centers, spacing, gamma, lowest, floor, basis);         \
    }                                                                                                 \
    attributes static void causal_softmax_##suffix(                                                   \
        float *scores, long rows, long first_row, long size, long leading) {                          \
        causal_softmax_loop(scores, rows, first_row, size, leading);                                  \
    }                                                                                                 \
    attributes static void causal_softmax_backward_##suffix(                                          \
        const float *probabilities, float *gradient, long rows, long first_row, long size, long leading) { \
        causal_softmax_backward_loop(probabilities, gradient, rows, first_row, size, leading);        \
    }                                                                                                 \
    attributes static void layer_norm_##suffix(                                                       \
        const float *x, long rows, long width, const float *gain, const float *bias, float epsilon, float *y, \
        float *means, float *inverse_deviation) {                                                     \
        layer_norm_loop(x, rows, width, gain, bias, epsilon, y, means, inverse_deviation);            \
    }                                                                                                 \
    attributes static void layer_norm_backward_##suffix(                                              \
        const float *dy, const float *x, const float *means, const float *inverse_deviation, long rows, \
        long width, const float *gain, float *dx, float *gain_gradient, float *bias_gradient) {       \
        layer_norm_backward_loop(                                                                     \
            dy, x, means, inverse_deviation, rows, width, gain, dx, gain_gradient, bias_gradient);    \
    }                                                                                                 \
    attributes static void batch_norm_moments_##suffix(                                               \
        const float *x, long first_row, long row_count, long channels, long positions, float *moments) { \
        batch_norm_moments_loop(x, first_row, row_count, channels, positions, moments);               \
    }                                                                                                 \
    attributes static void batch_norm_apply_##suffix(                                                 \
        const float *x, long first_row, long row_count, long channels, long positions, const float *mean, \
        const float *inverse_deviation, const float *gain, const float *bias, int rectify, float *y) { \
        batch_norm_apply_loop(x, first_row, row_count, channels, positions, mean, inverse_deviation, gain, bias, \
                              rectify, y);                                                            \
    }                                                                                                 \
    attributes static void batch_norm_gradient_sums_##suffix(                                         \
        const float *dy, const float *rectified_output, const float *x, long first_row, long row_count, \
        long channels, long positions, const float *mean, const float *inverse_deviation, float *dx, float *sums) { \
        batch_norm_gradient_sums_loop(dy, rectified_output, x, first_row, row_count, channels, positions, mean, \
                                      inverse_deviation, dx, sums);                                   \
    }                                                                                                 \
    attributes static void batch_norm_gradient_apply_##suffix(                                        \
        const float *x, long first_row, long row_count, long channels, long positions, const float *mean, \
        const float *inverse_deviation, const float *scale, const float *mean_gradient,               \
        const float *mean_weighted, float *dx) {                                                      \
        batch_norm_gradient_apply_loop(x, first_row, row_count, channels, positions, mean, inverse_deviation, \
                                       scale, mean_gradient, mean_weighted, dx);                      \
    }                                                                                                 \
    attributes static void tile_product_##suffix(                                                     \
        long rows, long columns, long inner_begin, long inner_end, const float *a, long a_row, long a_inner, \
        const float *b, long ldb, float alpha, float beta, float *c, long ldc) {                      \
        packed_tile_product_loop(tile_rows_held, wide_rows_held, rows, columns, inner_begin, inner_end, a, \
                                 a_row, a_inner, b, ldb, alpha, beta, c, ldc);                        \
    }                                                                                                 \
    attributes static void gathered_tile_product_##suffix(                                            \
        long rows, long columns, long inner_begin, long inner_end, long run, long run_stride, const float *a, \
        const long *a_rows, long a_inner, const long *a_cols, const float *b, const long *b_rows, float alpha, \
        float beta, float *c, long ldc) {                                                             \
        __builtin_assume(a_rows != NULL && b_rows != NULL);                                           \
        gathered_product_loop(tile_rows_held, wide_rows_held, rows, columns, inner_begin, inner_end, run, \
                              run_stride, a, a_rows, a_inner, a_cols, b, b_rows, alpha, beta, c, ldc); \
    }                                                                                                 \
    attributes static double softmax_cross_entropy_##suffix(                                          \
        const float *logits, long rows, long classes, long leading, const long *labels, float *gradient) { \
        return softmax_cross_entropy_loop(logits, rows, classes, leading, labels, gradient);          \
    }                                                                                                 \
    attributes static void max_pool_plane_##suffix(                                                   \
        const float *x, long input, long height, long width, int rectify, float *y, int32_t *argmax) { \
        max_pool_plane_loop(x, input, height, width, rectify, y, argmax);                             \
    }                                                                                                 \
    attributes static void max_pool_positions_##suffix(                                               \
        const float *yt, long channels, long height, long width, int rectify, float *y, int32_t *argmax) { \
        max_pool_positions_loop(yt, channels, height, width, rectify, y, argmax);                     \
    }                                                                                                 \
    attributes static void pooled_weight_gradient_##suffix(                                           \
        const float *dy, const int32_t *argmax, long channels, long positions, const float *patches,  \
        long rows, float *work) {                                                                     \
        pooled_weight_gradient_loop(dy, argmax, channels, positions, patches, rows, work);            \
    }                                                                                                 \
    attributes static int adam_update_##suffix(                                                       \
        float *g, const float *m, const float *v, float *m_new, float *v_new, long count, float beta1, float beta2, \
        float correction1, float correction2, float epsilon, const float *weight, float *new_weight, float keep, \
        float rate, float decay) {                                                                    \
        return adam_update_loop(g, m, v, m_new, v_new, count, beta1, beta2, correction1, correction2, epsilon, \
                                weight, new_weight, keep, rate, decay);                               \
    }                                                                                                 \
    attributes static int momentum_update_##suffix(                                                   \
        float *g, const float *v, float *v_new, long count, float mu, int restart, int nesterov,         \
        const float *weight, float *new_weight, float keep, float rate, float decay) {                  \
        return momentum_update_loop(g, v, v_new, count, mu, restart, nesterov, weight, new_weight, keep, rate, \
                                    decay);                                                           \
    }                                                                                                 \
    attributes static int adam_update_rows_##suffix(                                                  \
        float *g, const float *m, const float *v, float *m_new, float *v_new, const long *rows, long count, \
        long width, float beta1, float beta2, float correction1, float correction2, float epsilon,    \
        const float *weight, float *new_weight, float keep, float rate, float decay, long ahead) {    \
        return adam_update_rows_loop(g, m, v, m_new, v_new, rows, count, width, beta1, beta2, correction1, \
                                     correction2, epsilon, weight, new_weight, keep, rate, decay, ahead); \
    }                                                                                                 \
    attributes static int momentum_update_rows_##suffix(                                              \
        float *g, const float *v, float *v_new, const long *rows, long count, long width, float mu, int restart, \
        int nesterov, const float *weight, float *new_weight, float keep, float rate, float decay, long ahead) { \
        return momentum_update_rows_loop(g, v, v_new, rows, count, width, mu, restart, nesterov, weight, new_weight, \
                                         keep, rate, decay, ahead);                                   \
    }                                                                                                 \
    attributes static void row_products_##suffix(                                                     \
        long m, long n, long length, const float *a, long lda, const float *b, long ldb, float *c, long ldc) { \
        row_products_loop(m, n, length, a, lda, b, ldb, c, ldc);                                      \
    }                                                                                                 \
    attributes static void column_sums_##suffix(                                                      \
        const float *a, long rows, long columns, long lda, int accumulate, float *sums, long stride) { \
        column_sums_loop(a, rows, columns, lda, accumulate, sums, stride);                            \
    }                                                                                                 \
    attributes static void transpose_##suffix(                                                        \
        const float *source, long rows, long columns, long ld, float *target) {                       \
        transpose_loop(source, rows, columns, ld, target);                                            \
    }                                                                                                 \
    static const ngplus_float_loops loops_##suffix = {                                                \
        gelu_##suffix, gelu_backward_##suffix, shifted_exponentials_##suffix, causal_softmax_##suffix,  \
        causal_softmax_backward_##suffix, layer_norm_##suffix, layer_norm_backward_##suffix,            \
        batch_norm_moments_##suffix, batch_norm_apply_##suffix, batch_norm_gradient_sums_##suffix,      \
        batch_norm_gradient_apply_##suffix, softmax_cross_entropy_##suffix,                             \
        max_pool_plane_##suffix, adam_update_##suffix, momentum_update_##suffix,                        \
        momentum_update_rows_##suffix, tile_product_##suffix,                                           \
        gathered_tile_product_##suffix, row_products_##suffix, transpose_##suffix,                      \
        shifted_softplus_##suffix, column_sums_##suffix, adam_update_rows_##suffix,                     \
        gaussian_basis_##suffix, pooled_weight_gradient_##suffix, max_pool_positions_##suffix};

// Rows a tile product keeps in registers: 2·rb accumulators of sixteen lanes, which are four
// SSE, two AVX2 or one AVX-512 register each (16, 16 and 32 registers); and, where 4·rb
// accumulators fit (AVX-512's 24 of 32 registers), the rows of its 64-column blocks.
NGPLUS_FLOAT_LOOPS(baseline, , 1, 0)

#if defined(__x86_64__)
NGPLUS_FLOAT_LOOPS(avx2, __attribute__((target("avx2,fma"))), 2, 0)
NGPLUS_FLOAT_LOOPS(avx512, __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), 8, 6)
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
