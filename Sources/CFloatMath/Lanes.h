// Sixteen-lane vectors and the row reductions built on them, included by FloatLoops.c only.
#ifndef NGPLUS_LANES_H
#define NGPLUS_LANES_H

#include <math.h>

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
typedef int int_lanes8 __attribute__((ext_vector_type(8)));
typedef float unaligned_lanes8 __attribute__((ext_vector_type(8), aligned(4)));
typedef int unaligned_int_lanes8 __attribute__((ext_vector_type(8), aligned(4)));
#define store8(p, v) (*(unaligned_lanes8 *)(p) = (v))
#define store8i(p, v) (*(unaligned_int_lanes8 *)(p) = (v))
typedef int unaligned_int_lanes16 __attribute__((ext_vector_type(16), aligned(4)));
#define store16i(p, v) (*(unaligned_int_lanes16 *)(p) = (v))

// A 16 × 16 block transposed in registers: four butterfly steps, each swapping bit h of the
// row index with bit h of the column index between the rows i and i + h (i without bit h).
static inline __attribute__((always_inline)) void transpose16(lanes16 r[16]) {
    for (int i = 0; i < 16; i++) {
        if (i & 8) continue;
        lanes16 a = r[i], b = r[i + 8];
        r[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        r[i + 8] = __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    }
    for (int i = 0; i < 16; i++) {
        if (i & 4) continue;
        lanes16 a = r[i], b = r[i + 4];
        r[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        r[i + 4] = __builtin_shufflevector(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    }
    for (int i = 0; i < 16; i++) {
        if (i & 2) continue;
        lanes16 a = r[i], b = r[i + 2];
        r[i] = __builtin_shufflevector(a, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        r[i + 2] = __builtin_shufflevector(a, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    }
    for (int i = 0; i < 16; i += 2) {
        lanes16 a = r[i], b = r[i + 1];
        r[i] = __builtin_shufflevector(a, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
        r[i + 1] = __builtin_shufflevector(a, b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
    }
}

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

// Σ (x_j − c)², the lanes and rounding of `row_dot` of the deviations with themselves: the
// deviations are formed in registers, never stored.
static inline __attribute__((always_inline)) float row_squared_deviations(const float *x, float c, long count) {
    lanes16 lanes = 0;
    long j = 0;
    for (; j + 16 <= count; j += 16) {
        lanes16 deviation = load16(x + j) - c;
        lanes += deviation * deviation;
    }
    float sum = sum_of_lanes(&lanes);
    for (; j < count; j++) sum += (x[j] - c) * (x[j] - c);
    return sum;
}

// Σ y_j·((x_j − c)·s), the lanes and rounding of `row_dot` with the normalized values
// (x_j − c)·s, formed in registers as a pass that stored them would.
static inline __attribute__((always_inline)) float row_dot_normalized(
    const float *y, const float *x, float c, float s, long count) {
    lanes16 lanes = 0;
    long j = 0;
    for (; j + 16 <= count; j += 16) lanes += load16(y + j) * ((load16(x + j) - c) * s);
    float sum = sum_of_lanes(&lanes);
    for (; j < count; j++) sum += y[j] * ((x[j] - c) * s);
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

#endif
