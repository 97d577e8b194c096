import Foundation
import NGPlus

/// Normal deviates from uniform ones (Box–Muller), for He initialisation.
func normal<G: RandomNumberGenerator>(using generator: inout G) -> Double {
    let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &generator)
    let u2 = Double.random(in: 0..<1, using: &generator)
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
}

extension Matrix {
    /// A layer's initial weights: `rows × columns` values `deviation·normal()`, drawn in
    /// row-major order, except the columns from `drawnColumns` on (a bias), which are 0 and
    /// take no draw. Specialized, because a layer is built from generic code (`Model<Scalar>`'s
    /// builders): unspecialized, each value's store into the matrix looked up the array's
    /// generic metadata in the runtime, most of the time a DLRM's eight tables of 1.6 million
    /// values took to build apart from the logarithms and cosines.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func normal(
        rows: Int, columns: Int, drawnColumns: Int? = nil, deviation: Double, using generator: inout SeededGenerator
    ) -> Matrix {
        let drawn = drawnColumns ?? columns
        var matrix = Matrix(rows: rows, columns: columns)
        matrix.withMutableView { view in
            for i in 0..<rows {
                let row = view.base + i * view.leadingDimension
                for j in 0..<drawn { row[j] = Scalar(deviation * NGTrain.normal(using: &generator)) }
            }
        }
        return matrix
    }
}
