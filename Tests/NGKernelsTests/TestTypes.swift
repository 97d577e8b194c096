import NGKernels

/// The scalar types every kernel test runs for.
let scalarTypes: [any BLASScalar.Type] = [Float.self, Double.self]

/// Shapes (m, n, batch) that cover 1×1, m > n, m < n, batch 1 and sizes that are not
/// multiples of any block size.
let shapes: [(Int, Int, Int)] = [
    (1, 1, 1), (2, 3, 1), (5, 3, 4), (3, 7, 2), (1, 6, 3), (6, 1, 5), (17, 33, 8), (40, 23, 64),
]
