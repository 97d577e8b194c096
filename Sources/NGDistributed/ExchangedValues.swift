import NGKernels

// Every per-value loop of a data-parallel step, specialized on the scalar: `DataParallel` is
// generic over its optimizer and its own code is not specialized (it names no optimizer), so
// it moves values only through these.

/// `values` times `weight` into the start of `target`: a copy and one SCAL.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func pack<Scalar: BLASScalar>(
    _ values: UnsafeBufferPointer<Scalar>, into target: UnsafeMutableBufferPointer<Scalar>, scaledBy weight: Scalar
) {
    guard !values.isEmpty else { return }
    let region = UnsafeMutableBufferPointer(rebasing: target[0..<values.count])
    _ = region.update(fromContentsOf: values)
    if weight != 1, let base = region.baseAddress { Scalar.scal(n: region.count, alpha: weight, x: base, incx: 1) }
}

/// `source` into the start of `target`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func copyValues<Scalar: BLASScalar>(_ source: UnsafeBufferPointer<Scalar>, into target: UnsafeMutableBufferPointer<Scalar>) {
    _ = UnsafeMutableBufferPointer(rebasing: target[0..<source.count]).update(fromContentsOf: source)
}

/// `source`'s values into `target` (the same shape).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func copyValues<Scalar: BLASScalar>(_ source: Matrix<Scalar>, into target: inout Matrix<Scalar>) {
    source.withView { s in target.withMutableView { $0.update(from: s) } }
}

extension UnsafeMutableBufferPointer {
    /// Calls `body` with the elements `range` of this buffer as a span (what `Communicator`
    /// takes).
    func withSpan<Result>(_ range: Range<Int>, _ body: (inout MutableSpan<Element>) throws -> Result) rethrows -> Result {
        var span = UnsafeMutableBufferPointer(rebasing: self[range]).mutableSpan
        return try body(&span)
    }
}
