#include "CFloatMath.h"

#include <math.h>

// Each loop is written once, always inlined into one function per vector level, which the
// compiler vectorizes at that level's width (and contracts a·b + c to FMA where it has it).
// `assume_safety`: the loops are elementwise, so an output equal to its input is safe. A loop
// that asks for vectorization and does not get it is a build error, not a warning: a scalar
// loop here runs several times slower and nothing else would say so.
#pragma clang diagnostic error "-Wpass-failed"

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

// Sixteen lanes for the reductions (the vectorizer leaves a float sum or maximum scalar, as
// reordering it changes the rounding): one AVX-512 register, two AVX2 ones, four SSE ones.
// Aligned to a float only: loads from any element (clang's alias analysis lets a vector type
// alias its element type).
typedef float lanes16 __attribute__((ext_vector_type(16), aligned(4)));
#define load16(p) (*(const lanes16 *)(p))
#define store16(p, v) (*(lanes16 *)(p) = (v))

typedef float lanes8 __attribute__((ext_vector_type(8)));
typedef float lanes4 __attribute__((ext_vector_type(4)));
typedef int int_lanes16 __attribute__((ext_vector_type(16)));

// A register's lanes reduced by halves, four dependent operations (one lane after another is
// sixteen, each waiting on the last). Taken by pointer: a 64-byte vector argument has no
// baseline x86-64 calling convention.
static inline __attribute__((always_inline)) float sum_of_lanes(const lanes16 *v) {
    lanes8 eight = v->lo + v->hi;
    lanes4 four = eight.lo + eight.hi;
    return (four.x + four.z) + (four.y + four.w);
}

static inline __attribute__((always_inline)) float maximum_of_lanes(const lanes16 *v) {
    lanes8 eight = __builtin_elementwise_max(v->lo, v->hi);
    lanes4 four = __builtin_elementwise_max(eight.lo, eight.hi);
    return fmaxf(fmaxf(four.x, four.z), fmaxf(four.y, four.w));
}

static inline __attribute__((always_inline)) float row_maximum(const float *x, long count) {
    float largest = x[0];
    long j = 0;
    if (count >= 16) {
        lanes16 lanes = load16(x);
        for (j = 16; j + 16 <= count; j += 16) lanes = __builtin_elementwise_max(lanes, load16(x + j));
        largest = maximum_of_lanes(&lanes);
    }
    for (; j < count; j++) largest = fmaxf(largest, x[j]);
    return largest;
}

static inline __attribute__((always_inline)) float row_dot(const float *x, const float *y, long count) {
    lanes16 lanes = 0;
    long j = 0;
    for (; j + 16 <= count; j += 16) lanes += load16(x + j) * load16(y + j);
    float sum = sum_of_lanes(&lanes);
    for (; j < count; j++) sum += x[j] * y[j];
    return sum;
}

static inline __attribute__((always_inline)) float row_sum(const float *x, long count) {
    lanes16 lanes = 0;
    long j = 0;
    for (; j + 16 <= count; j += 16) lanes += load16(x + j);
    float sum = sum_of_lanes(&lanes);
    for (; j < count; j++) sum += x[j];
    return sum;
}

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
// and their exponentials to 0 before the sum. Each row is scaled by the reciprocal of its sum.
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
            shifted_exponentials_loop(row, row, span, shift[r]);
            fill_after(row, count, span, 0);
            for (long j = span; j < size; j++) row[j] = 0;
        }
        for (long r = 0; r < group; r++) scale[r] = 1 / row_sum(block + r * leading, causal_span(first_count + r, size));
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

static inline __attribute__((always_inline)) void layer_norm_loop(
    const float *x, long rows, long width, const float *gain, const float *bias, float epsilon, float *y,
    float *normalized, float *inverse_deviation) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * width;
        float *out = y + r * width, *hat = normalized + r * width;
        float mean = row_sum(row, width) / (float)width;
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < width; j++) hat[j] = row[j] - mean;
        float inverse = 1 / sqrtf(row_dot(hat, hat, width) / (float)width + epsilon);
        inverse_deviation[r] = inverse;
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < width; j++) {
            hat[j] *= inverse;
            out[j] = hat[j] * gain[j] + bias[j];
        }
    }
}

static inline __attribute__((always_inline)) void layer_norm_backward_loop(
    const float *dy, const float *normalized, const float *inverse_deviation, long rows, long width,
    const float *gain, float *dx, float *gain_gradient, float *bias_gradient) {
    memset(gain_gradient, 0, (size_t)width * sizeof *gain_gradient);
    memset(bias_gradient, 0, (size_t)width * sizeof *bias_gradient);
    for (long r = 0; r < rows; r++) {
        const float *grad = dy + r * width, *hat = normalized + r * width;
        float *out = dx + r * width;
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < width; j++) {
            out[j] = grad[j] * gain[j];
            gain_gradient[j] += grad[j] * hat[j];
            bias_gradient[j] += grad[j];
        }
        float mean = row_sum(out, width) / (float)width;
        float weighted_mean = row_dot(out, hat, width) / (float)width;
        float inverse = inverse_deviation[r];
#pragma clang loop vectorize(assume_safety)
        for (long j = 0; j < width; j++) out[j] = inverse * (out[j] - mean - hat[j] * weighted_mean);
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
// g, or with a weight given, w′ = keep·w − rate·step into `new_weight` instead. Returns whether
// every new value is finite: x − x is +0 (no bits set) for a finite x and NaN otherwise, and
// an OR of bits vectorizes where a float sum would not (reordering it changes its rounding).
// At the level's width, with its square root and division (Swift's baseline runs them four
// lanes at a time: 1.9 ns a value). Two loops: one with a branch on `weight` inside was left
// scalar where the step goes over g (6.7 ns a value).
static inline __attribute__((always_inline)) int adam_update_loop(
    float *g, const float *m, const float *v, float *m_new, float *v_new, long count, float beta1, float beta2,
    float correction1, float correction2, float epsilon, const float *weight, float *new_weight, float keep,
    float rate) {
    uint32_t nonfinite = 0;
    if (weight) {
#pragma clang loop vectorize(assume_safety)
        for (long i = 0; i < count; i++) {
            float first, second;
            float step = adam_value(g[i], m[i], v[i], beta1, beta2, correction1, correction2, epsilon, &first, &second);
            float next = keep * weight[i] - rate * step;
            m_new[i] = first, v_new[i] = second, new_weight[i] = next;
            nonfinite |= ngplus_float_bits(first - first) | ngplus_float_bits(second - second) | ngplus_float_bits(next - next);
        }
    } else {
#pragma clang loop vectorize(assume_safety)
        for (long i = 0; i < count; i++) {
            float first, second;
            float step = adam_value(g[i], m[i], v[i], beta1, beta2, correction1, correction2, epsilon, &first, &second);
            m_new[i] = first, v_new[i] = second, g[i] = step;
            nonfinite |= ngplus_float_bits(first - first) | ngplus_float_bits(second - second) | ngplus_float_bits(step - step);
        }
    }
    return nonfinite == 0;
}

// One block of `rb` rows of C = α·Σ_x A(r, x)·B[x, :] + β·C: 32 columns at a time in 2·rb
// vector accumulators (each B row's two vectors loaded once for all rb rows, each A value
// broadcast), then 16, then one column at a time. With β = 0, C is only written.
static inline __attribute__((always_inline)) void tile_rows(
    int rb, long columns, long inner_begin, long inner_end, const float *a, long a_row, long a_inner,
    const float *b, long ldb, float alpha, float beta, float *c, long ldc) {
    long j = 0;
    for (; j + 32 <= columns; j += 32) {
        lanes16 low[8], high[8];
        for (int i = 0; i < rb; i++) low[i] = high[i] = 0;
        for (long x = inner_begin; x < inner_end; x++) {
            lanes16 b_low = load16(b + x * ldb + j), b_high = load16(b + x * ldb + j + 16);
            for (int i = 0; i < rb; i++) {
                float value = a[i * a_row + x * a_inner];
                low[i] += value * b_low;
                high[i] += value * b_high;
            }
        }
        for (int i = 0; i < rb; i++) {
            float *row = c + i * ldc + j;
            lanes16 first = alpha * low[i], second = alpha * high[i];
            if (beta != 0) first += beta * load16(row), second += beta * load16(row + 16);
            store16(row, first);
            store16(row + 16, second);
        }
    }
    for (; j + 16 <= columns; j += 16) {
        lanes16 sums[8];
        for (int i = 0; i < rb; i++) sums[i] = 0;
        for (long x = inner_begin; x < inner_end; x++) {
            lanes16 b_row = load16(b + x * ldb + j);
            for (int i = 0; i < rb; i++) sums[i] += a[i * a_row + x * a_inner] * b_row;
        }
        for (int i = 0; i < rb; i++) {
            lanes16 value = alpha * sums[i];
            if (beta != 0) value += beta * load16(c + i * ldc + j);
            store16(c + i * ldc + j, value);
        }
    }
    for (; j < columns; j++) {
        for (int i = 0; i < rb; i++) {
            float sum = 0;
            for (long x = inner_begin; x < inner_end; x++) sum += a[i * a_row + x * a_inner] * b[x * ldb + j];
            c[i * ldc + j] = beta != 0 ? alpha * sum + beta * c[i * ldc + j] : alpha * sum;
        }
    }
}

// The whole product in blocks of `rb` rows (as many as the level's registers hold), the
// remaining rows one at a time.
static inline __attribute__((always_inline)) void tile_product_loop(
    int rb, long rows, long columns, long inner_begin, long inner_end, const float *a, long a_row, long a_inner,
    const float *b, long ldb, float alpha, float beta, float *c, long ldc) {
    long r = 0;
    for (; r + rb <= rows; r += rb)
        tile_rows(rb, columns, inner_begin, inner_end, a + r * a_row, a_row, a_inner, b, ldb, alpha, beta, c + r * ldc, ldc);
    for (; r < rows; r++)
        tile_rows(1, columns, inner_begin, inner_end, a + r * a_row, a_row, a_inner, b, ldb, alpha, beta, c + r * ldc, ldc);
}

// Adds to C the products of rows i…i + R − 1 of A with rows j…j + S − 1 of B over the values
// first…last − 1: R·S vector accumulators (R and S are constants where this is inlined).
static inline __attribute__((always_inline)) void row_block_products(
    int R, int S, long i, long j, long first, long last, const float *a, long lda, const float *b, long ldb,
    float *c, long ldc) {
    long whole = first + (last - first) / 16 * 16;
    lanes16 sums[4][2];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < S; t++) sums[r][t] = 0;
    for (long k = first; k < whole; k += 16) {
        lanes16 columns[2];
        for (int t = 0; t < S; t++) columns[t] = load16(b + (j + t) * ldb + k);
        for (int r = 0; r < R; r++) {
            lanes16 row = load16(a + (i + r) * lda + k);
            for (int t = 0; t < S; t++) sums[r][t] += row * columns[t];
        }
    }
    for (int r = 0; r < R; r++) {
        for (int t = 0; t < S; t++) {
            float sum = 0;
            for (int l = 0; l < 16; l++) sum += sums[r][t][l];
            for (long k = whole; k < last; k++) sum += a[(i + r) * lda + k] * b[(j + t) * ldb + k];
            c[(i + r) * ldc + j + t] += sum;
        }
    }
}

// C (m × n, rows ldc apart) = Σ_{k < length} A[i·lda + k]·B[j·ldb + k]: the products of long
// rows. The rows are read in chunks of 2,048 values, which stay in cache while every pair of
// rows takes its share: four rows of A by two of B at a time, the remaining rows and columns
// one by one.
static inline __attribute__((always_inline)) void row_products_loop(
    long m, long n, long length, const float *a, long lda, const float *b, long ldb, float *c, long ldc) {
    for (long i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof *c);
    for (long first = 0; first < length; first += 2048) {
        long last = first + 2048 < length ? first + 2048 : length;
        long i = 0;
        for (; i + 4 <= m; i += 4) {
            long j = 0;
            for (; j + 2 <= n; j += 2) row_block_products(4, 2, i, j, first, last, a, lda, b, ldb, c, ldc);
            for (; j < n; j++) row_block_products(4, 1, i, j, first, last, a, lda, b, ldb, c, ldc);
        }
        for (; i < m; i++)
            for (long j = 0; j < n; j++) row_block_products(1, 1, i, j, first, last, a, lda, b, ldb, c, ldc);
    }
}

#define NGPLUS_FLOAT_LOOPS(suffix, attributes, tile_rows_held)                                       \
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
        float *normalized, float *inverse_deviation) {                                                \
        layer_norm_loop(x, rows, width, gain, bias, epsilon, y, normalized, inverse_deviation);       \
    }                                                                                                 \
    attributes static void layer_norm_backward_##suffix(                                              \
        const float *dy, const float *normalized, const float *inverse_deviation, long rows, long width, \
        const float *gain, float *dx, float *gain_gradient, float *bias_gradient) {                   \
        layer_norm_backward_loop(                                                                     \
            dy, normalized, inverse_deviation, rows, width, gain, dx, gain_gradient, bias_gradient);  \
    }                                                                                                 \
    attributes static void tile_product_##suffix(                                                     \
        long rows, long columns, long inner_begin, long inner_end, const float *a, long a_row, long a_inner, \
        const float *b, long ldb, float alpha, float beta, float *c, long ldc) {                      \
        tile_product_loop(                                                                            \
            tile_rows_held, rows, columns, inner_begin, inner_end, a, a_row, a_inner, b, ldb, alpha, beta, c, ldc); \
    }                                                                                                 \
    attributes static double softmax_cross_entropy_##suffix(                                          \
        const float *logits, long rows, long classes, long leading, const long *labels, float *gradient) { \
        return softmax_cross_entropy_loop(logits, rows, classes, leading, labels, gradient);          \
    }                                                                                                 \
    attributes static void max_pool_##suffix(                                                         \
        const float *x, long channels, long height, long width, long channel_major_batch, long first, long samples, \
        int rectify, float *y, int32_t *argmax) {                                                     \
        max_pool_loop(x, channels, height, width, channel_major_batch, first, samples, rectify, y, argmax); \
    }                                                                                                 \
    attributes static int adam_update_##suffix(                                                       \
        float *g, const float *m, const float *v, float *m_new, float *v_new, long count, float beta1, float beta2, \
        float correction1, float correction2, float epsilon, const float *weight, float *new_weight, float keep, \
        float rate) {                                                                                 \
        return adam_update_loop(g, m, v, m_new, v_new, count, beta1, beta2, correction1, correction2, epsilon, \
                                weight, new_weight, keep, rate);                                      \
    }                                                                                                 \
    attributes static void row_products_##suffix(                                                     \
        long m, long n, long length, const float *a, long lda, const float *b, long ldb, float *c, long ldc) { \
        row_products_loop(m, n, length, a, lda, b, ldb, c, ldc);                                      \
    }                                                                                                 \
    static const ngplus_float_loops loops_##suffix = {                                                \
        gelu_##suffix, gelu_backward_##suffix, shifted_exponentials_##suffix, causal_softmax_##suffix,  \
        causal_softmax_backward_##suffix, layer_norm_##suffix, layer_norm_backward_##suffix,            \
        softmax_cross_entropy_##suffix, max_pool_##suffix, adam_update_##suffix, tile_product_##suffix,        \
        row_products_##suffix};

// Rows a tile product keeps in registers: 2·rb accumulators of sixteen lanes, which are four
// SSE, two AVX2 or one AVX-512 register each (16, 16 and 32 registers).
NGPLUS_FLOAT_LOOPS(baseline, , 1)

#if defined(__x86_64__)
NGPLUS_FLOAT_LOOPS(avx2, __attribute__((target("avx2,fma"))), 2)
NGPLUS_FLOAT_LOOPS(avx512, __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), 8)
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
