// Small matrix products — attention's tiles and a weight gradient's long rows — and the
// transposition that lays a tile product's B out, included by FloatLoops.c only.
#ifndef NGPLUS_PRODUCT_LOOPS_H
#define NGPLUS_PRODUCT_LOOPS_H

#include <string.h>
#include "Lanes.h"

// Stores lanes `from`…15 of a row's 16 sums at `row`: α·sum (+ β·C where β ≠ 0). Taken by
// pointer, as in Lanes.h.
static inline __attribute__((always_inline)) void store_lanes_from(
    float *row, const lanes16 *sums, int from, float alpha, float beta) {
    if (from == 0) {
        lanes16 value = alpha * *sums;
        if (beta != 0) value += beta * load16(row);
        store16(row, value);
        return;
    }
    float held[16];
    store16(held, *sums);
    for (int l = from; l < 16; l++) row[l] = beta != 0 ? alpha * held[l] + beta * row[l] : alpha * held[l];
}

// One block of `rb` rows of C = α·Σ_x A(r, x)·B[x, :] + β·C from column j on, of which rows
// `skip`…rb − 1 are stored (the rows before were stored by the block above, which this one
// overlaps): 16·`vectors` columns at a time in rb·vectors vector accumulators (each B row's
// vectors loaded once for all rb rows, each A value broadcast), up to `columns`. With two
// vectors a block, the columns left then go 16 at a time, the last fewer than 16 as the tail
// of a 16-column block ending at the last column, which overlaps the columns already stored and
// stores only its own; a product narrower than 16 columns goes one column at a time. With
// β = 0, C is only written. Row i of A starts at a + a_rows[i] and row x of B at b + b_rows[x]
// when the tables are given (a convolution's patches read in place), else i·a_row and x·ldb
// from them; A(i, x) lies a_cols[x] rather than x·a_inner into its row when that table is
// given (a convolution's positions as A's rows). The sums run over x in runs of `run` values
// `run_stride` apart from inner_begin, cut at inner_end (one run when run = run_stride =
// inner_end − inner_begin): a convolution's output rows on its padded planes' wider rows,
// whose junk columns are skipped. `in_runs`, a constant where this is inlined, is 0 when the
// range is one run, so that the loop over x is a plain one (the runs' bounds would take
// registers that the rows' addresses need). Every element is summed in order of x whatever
// the block.
static inline __attribute__((always_inline)) void tile_rows(
    int rb, int vectors, int in_runs, int skip, long j, long columns, long inner_begin, long inner_end, long run,
    long run_stride, const float *a, long a_row, long a_inner, const long *a_rows, const long *a_cols, const float *b,
    long ldb, const long *b_rows, float alpha, float beta, float *c, long ldc) {
#define NGPLUS_A_COLUMN(x) (a_cols ? a_cols[x] : (x) * a_inner)
#define NGPLUS_A(i, x) (a_rows ? a[a_rows[i] + NGPLUS_A_COLUMN(x)] : a[(i) * a_row + NGPLUS_A_COLUMN(x)])
#define NGPLUS_B_ROW(x) (b + (b_rows ? b_rows[x] : (x) * ldb))
// The body for every x taken: a loop over the runs and one over each run's values, or one
// plain loop (the bounds of runs cost registers, and a test in one loop a branch each x).
#define NGPLUS_FOR_INNER(x, ...)                                                                        \
    if (in_runs) {                                                                                     \
        for (long start_ = inner_begin; start_ < inner_end; start_ += run_stride)                      \
            for (long x = start_, stop_ = inner_end - start_ < run ? inner_end : start_ + run; x < stop_; x++) { \
                __VA_ARGS__                                                                            \
            }                                                                                          \
    } else {                                                                                           \
        for (long x = inner_begin; x < inner_end; x++) { __VA_ARGS__ }                                 \
    }
    for (; j + 16 * vectors <= columns; j += 16 * vectors) {
        lanes16 sums[8][4];
        for (int i = 0; i < rb; i++)
            for (int t = 0; t < vectors; t++) sums[i][t] = 0;
        NGPLUS_FOR_INNER(x, {
            const float *b_row = NGPLUS_B_ROW(x) + j;
            lanes16 row[4];
            for (int t = 0; t < vectors; t++) row[t] = load16(b_row + 16 * t);
            for (int i = 0; i < rb; i++) {
                float value = NGPLUS_A(i, x);
                for (int t = 0; t < vectors; t++) sums[i][t] += value * row[t];
            }
        })
        for (int i = skip; i < rb; i++)
            for (int t = 0; t < vectors; t++) store_lanes_from(c + i * ldc + j + 16 * t, &sums[i][t], 0, alpha, beta);
    }
    if (j == columns) return;
    if (columns >= 16) {
        for (; j < columns; j += 16) {
            // A block past the end starts 16 before it and stores from column j on.
            long first = j + 16 <= columns ? j : columns - 16;
            lanes16 sums[8];
            for (int i = 0; i < rb; i++) sums[i] = 0;
            NGPLUS_FOR_INNER(x, {
                lanes16 b_row = load16(NGPLUS_B_ROW(x) + first);
                for (int i = 0; i < rb; i++) sums[i] += NGPLUS_A(i, x) * b_row;
            })
            for (int i = skip; i < rb; i++) store_lanes_from(c + i * ldc + first, &sums[i], (int)(j - first), alpha, beta);
        }
        return;
    }
    for (; j < columns; j++) {
        for (int i = skip; i < rb; i++) {
            float sum = 0;
            NGPLUS_FOR_INNER(x, sum += NGPLUS_A(i, x) * NGPLUS_B_ROW(x)[j];)
            c[i * ldc + j] = beta != 0 ? alpha * sum + beta * c[i * ldc + j] : alpha * sum;
        }
    }
#undef NGPLUS_A
#undef NGPLUS_A_COLUMN
#undef NGPLUS_B_ROW
#undef NGPLUS_FOR_INNER
}

// target[j·rows + i] = source[i·ld + j]: blocks of 16 × 16 loaded a row at a time, transposed
// in registers and stored a column at a time; the columns and rows beyond the last whole block
// one value at a time.
static inline __attribute__((always_inline)) void transpose_loop(
    const float *source, long rows, long columns, long ld, float *target) {
    long i = 0;
    for (; i + 16 <= rows; i += 16) {
        long j = 0;
        for (; j + 16 <= columns; j += 16) {
            lanes16 block[16];
            for (int t = 0; t < 16; t++) block[t] = load16(source + (i + t) * ld + j);
            transpose16(block);
            for (int t = 0; t < 16; t++) store16(target + (j + t) * rows + i, block[t]);
        }
        for (; j < columns; j++)
            for (int t = 0; t < 16; t++) target[j * rows + i + t] = source[(i + t) * ld + j];
    }
    for (; i < rows; i++)
        for (long j = 0; j < columns; j++) target[j * rows + i] = source[i * ld + j];
}

// Columns j…columns − 1 of the product in blocks of `rb` rows, `vectors` vectors of columns
// at a time (`tile_rows`). The last rows, fewer than rb, go a row at a time when they are
// fewer than rb/2 (a single row's sums wait on the FMA's latency: about four times a block
// row's cost), else as the tail of a block ending at the last row, which overlaps the rows
// already stored and stores only its own.
static inline __attribute__((always_inline)) void tile_row_blocks(
    int rb, int vectors, int in_runs, long j, long rows, long columns, long inner_begin, long inner_end, long run,
    long run_stride, const float *a, long a_row, long a_inner, const long *a_rows, const long *a_cols, const float *b,
    long ldb, const long *b_rows, float alpha, float beta, float *c, long ldc) {
#define NGPLUS_ROWS_FROM(r, count, skip)                                                                         \
    tile_rows(count, vectors, in_runs, skip, j, columns, inner_begin, inner_end, run, run_stride,              \
              a_rows ? a : a + (r) * a_row, a_row, a_inner, a_rows ? a_rows + (r) : a_rows, a_cols, b, ldb, b_rows, \
              alpha, beta, c + (r) * ldc, ldc)
    long r = 0;
    for (; r + rb <= rows; r += rb) NGPLUS_ROWS_FROM(r, rb, 0);
    if (r < rows) {
        if (rows >= rb && 2 * (rows - r) >= rb) {
            long first = rows - rb;
            NGPLUS_ROWS_FROM(first, rb, (int)(r - first));
        } else {
            for (; r < rows; r++) NGPLUS_ROWS_FROM(r, 1, 0);
        }
    }
#undef NGPLUS_ROWS_FROM
}

// The cost of `rows` rows in blocks of rb as `tile_row_blocks` cuts them, in block rows: the
// whole blocks, then an overlapping block (rb) or the last rows one at a time, each `single`.
static inline __attribute__((always_inline)) long row_blocks_cost(long rows, int rb, long single) {
    long last = rows % rb;
    if (last == 0) return rows;
    return rows - last + (rows >= rb && 2 * last >= rb ? rb : single * last);
}

// The whole product: where the level holds `wide_rb` rows of four vectors (wide_rb > 0) the
// columns in whole blocks of 64 first, blocks of wide_rb rows by 64 columns (each A value
// broadcast for four vectors instead of two), then the rest in blocks of `rb` rows by 32 and
// 16 columns — unless the rows cut worse into wide_rb than into rb: a row alone costs about
// four block rows with two vectors (its sums wait on the FMA's latency) and two with four, so
// 32 rows go in blocks of 8 rather than five of 6 and two alone, 289 in blocks of 6
// (docs/measurements/convolution-products-2026-12-07.md).
// `a_rows`, `a_cols` and `b_rows`, when given, locate A's values and B's rows, and `run`,
// `run_stride` the runs of inner values summed (`tile_rows`).
static inline __attribute__((always_inline)) void tile_product_loop(
    int rb, int wide_rb, int in_runs, long rows, long columns, long inner_begin, long inner_end, long run,
    long run_stride, const float *a, long a_row, long a_inner, const long *a_rows, const long *a_cols, const float *b,
    long ldb, const long *b_rows, float alpha, float beta, float *c, long ldc) {
    int wider = wide_rb > 0 && row_blocks_cost(rows, wide_rb, 2) < row_blocks_cost(rows, rb, 4);
    long wide = wider ? columns / 64 * 64 : 0;
    if (wide > 0)
        tile_row_blocks(wide_rb, 4, in_runs, 0, rows, wide, inner_begin, inner_end, run, run_stride, a, a_row, a_inner,
                        a_rows, a_cols, b, ldb, b_rows, alpha, beta, c, ldc);
    if (wide < columns)
        tile_row_blocks(rb, 2, in_runs, wide, rows, columns, inner_begin, inner_end, run, run_stride, a, a_row,
                        a_inner, a_rows, a_cols, b, ldb, b_rows, alpha, beta, c, ldc);
}

// `tile_product_loop` with B's columns in stripes of 64 (32 where the level holds no 64-column
// blocks or the inner range is over 256 values), each stripe's rows first copied side by side
// into `packed` (64 KB at most): every row block then reads the stripe from one contiguous
// block instead of one cache line a B row, rows `ldb` apart. In a C program (Intel, one
// thread, hot), with the same bits: a dense layer's weight gradient (G's rows by 256 columns
// of X over 128 or 256 samples) 1.16–1.27 times as fast, its input gradient (over 128 to 512 outputs) 1.07–1.14
// times (docs/measurements/convolution-products-2026-12-07.md). Used where the rows make at
// least four blocks (the copy is paid once a stripe) and the stripe fits; the columns past the
// last whole stripe as usual.
static inline __attribute__((always_inline)) void packed_tile_product_loop(
    int rb, int wide_rb, long rows, long columns, long inner_begin, long inner_end, const float *a, long a_row,
    long a_inner, const float *b, long ldb, float alpha, float beta, float *c, long ldc) {
    enum { packed_values = 256 * 64 };
    long inner = inner_end - inner_begin, stripe = wide_rb > 0 && inner <= packed_values / 64 ? 64 : 32;
    if (inner * stripe > packed_values || rows < 4 * rb || columns < stripe) {
        tile_product_loop(rb, wide_rb, 0, rows, columns, inner_begin, inner_end, inner, inner, a, a_row, a_inner, NULL,
                          NULL, b, ldb, NULL, alpha, beta, c, ldc);
        return;
    }
    float packed[packed_values] __attribute__((aligned(64)));
    const float *first = a + inner_begin * a_inner;
    long j = 0;
    for (; j + stripe <= columns; j += stripe) {
        for (long x = 0; x < inner; x++)
            memcpy(packed + x * stripe, b + (inner_begin + x) * ldb + j, (size_t)stripe * sizeof *b);
        if (stripe == 64)
            tile_row_blocks(wide_rb, 4, 0, 0, rows, stripe, 0, inner, inner, inner, first, a_row, a_inner, NULL, NULL,
                            packed, stripe, NULL, alpha, beta, c + j, ldc);
        else
            tile_row_blocks(rb, 2, 0, 0, rows, stripe, 0, inner, inner, inner, first, a_row, a_inner, NULL, NULL,
                            packed, stripe, NULL, alpha, beta, c + j, ldc);
    }
    if (j < columns)
        tile_product_loop(rb, wide_rb, 0, rows, columns - j, inner_begin, inner_end, inner, inner, a, a_row, a_inner,
                          NULL, NULL, b + j, ldb, NULL, alpha, beta, c + j, ldc);
}

// The gathered product (`tile_product_loop` with A's and B's rows from tables), compiled apart
// for A's columns by stride or from a table, and for one run or several.
static inline __attribute__((always_inline)) void gathered_product_loop(
    int rb, int wide_rb, long rows, long columns, long inner_begin, long inner_end, long run, long run_stride,
    const float *a, const long *a_rows, long a_inner, const long *a_cols, const float *b, const long *b_rows,
    float alpha, float beta, float *c, long ldc) {
#define NGPLUS_GATHERED(in_runs, columns_table)                                                                    \
    tile_product_loop(rb, wide_rb, in_runs, rows, columns, inner_begin, inner_end, run, run_stride, a, 0, a_inner, \
                      a_rows, columns_table, b, 0, b_rows, alpha, beta, c, ldc)
    int in_runs = run < inner_end - inner_begin;
    if (a_cols) {
        if (in_runs) NGPLUS_GATHERED(1, a_cols);
        else NGPLUS_GATHERED(0, a_cols);
    } else {
        if (in_runs) NGPLUS_GATHERED(1, NULL);
        else NGPLUS_GATHERED(0, NULL);
    }
#undef NGPLUS_GATHERED
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
            float sum = sum_of_lanes(&sums[r][t]);
            for (long k = whole; k < last; k++) sum += a[(i + r) * lda + k] * b[(j + t) * ldb + k];
            c[(i + r) * ldc + j + t] += sum;
        }
    }
}

// sums[c·stride] = Σ_r a[r·lda + c] over `rows` rows, plus sums[c·stride] when `accumulate`:
// the product of a block's transpose with ones, a bias's gradient. Each column is summed row
// after row from 0 (sixty-four columns at a time in four vector accumulators), and the block's
// sum then added to what `sums` held: the same operations in the same order at every vector
// level, so the same bits as a plain loop.
static inline __attribute__((always_inline)) void column_sums_loop(
    const float *a, long rows, long columns, long lda, int accumulate, float *sums, long stride) {
    long c = 0;
    for (; c < columns; c += 64) {
        long width = columns - c < 64 ? columns - c : 64;
        float held[64];
        if (width == 64) {
            lanes16 total[4] = {0, 0, 0, 0};
            for (long r = 0; r < rows; r++)
                for (int t = 0; t < 4; t++) total[t] += load16(a + r * lda + c + 16 * t);
            for (int t = 0; t < 4; t++) store16(held + 16 * t, total[t]);
        } else {
            for (long l = 0; l < width; l++) held[l] = 0;
            for (long r = 0; r < rows; r++) {
                const float *row = a + r * lda + c;
#pragma clang loop vectorize(assume_safety)
                for (long l = 0; l < width; l++) held[l] += row[l];
            }
        }
        for (long l = 0; l < width; l++) {
            float *sum = sums + (c + l) * stride;
            *sum = accumulate ? *sum + held[l] : held[l];
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

#endif
