import Foundation
import NGPlus

/// The loops of SchNet (`ShiftedSoftplus`, `SchNetInteractions`), generic over the scalar and
/// specialized through `NetworkScalar`. A molecule's atoms are `atoms` consecutive rows; its
/// pairs (i, j), j ≠ i, are `atoms·(atoms − 1)` consecutive rows, i-major, j ascending.
extension NetworkKernels {
    /// `y = ln(1 + eˣ) − ln 2` (zero at zero, SchNet's activation) and `s = σ(x)`, its
    /// derivative, without overflow: with `e = e^(−|x|)` in (0, 1], `ln(1 + eˣ) = max(x, 0) +
    /// ln(1 + e)`, and `ln(1 + e) = 2·atanh(t)` with `t = e/(2 + e)` ≤ 1/3 is the odd series
    /// `2·Σ t^(2k+1)/(2k+1)`, 13 terms (the first left out is at most 2·3⁻²⁷/27 ≈ 1e-14).
    /// One `exponential` and no branch a value: a vector loop.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func shiftedSoftplus<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, sigmoid s: UnsafeMutablePointer<Scalar>,
        count: Int
    ) {
        let logTwo = Scalar(M_LN2)
        for i in 0..<count {
            let v = x[i]
            let e = Scalar.exponential(-Swift.abs(v))
            let t = e / (2 + e)
            let t2 = t * t
            var series: Scalar = 0.04
            series = series * t2 + 0.043478260869565216
            series = series * t2 + 0.047619047619047616
            series = series * t2 + 0.05263157894736842
            series = series * t2 + 0.058823529411764705
            series = series * t2 + 0.06666666666666667
            series = series * t2 + 0.07692307692307693
            series = series * t2 + 0.09090909090909091
            series = series * t2 + 0.1111111111111111
            series = series * t2 + 0.14285714285714285
            series = series * t2 + 0.2
            series = series * t2 + 0.3333333333333333
            series = series * t2 + 1.0
            y[i] = Swift.max(v, 0) + 2 * t * series - logTwo
            s[i] = (v >= 0 ? 1 : e) / (1 + e)
        }
    }

    /// `dx = dy ⊙ σ(x)`, the gradient of `shiftedSoftplus` from the σ it kept.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func shiftedSoftplusBackward<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, sigmoid s: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        for i in 0..<count { dx[i] = dy[i] * s[i] }
    }

    /// For every pair of every molecule: the distance r of its atoms (positions in columns
    /// 1–3 of `atomRows`, 4 values a row), its radial basis `exp(−γ·(r − μ_k)²)` for the
    /// `centers` μ_k = k·cutoff/(centers − 1) into `basis` (a pair a row, `gaussianBasis`), and
    /// its cosine cutoff `½(cos(πr/cutoff) + 1)` (0 beyond the cutoff) into `envelope`, which
    /// holds the distances until the basis is made. The molecules are split over the cores.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func pairBasis<Scalar: NetworkScalar>(
        _ atomRows: UnsafePointer<Scalar>, molecules: Int, atoms: Int, centers: Int, cutoff: Scalar, gamma: Scalar,
        into basis: UnsafeMutablePointer<Scalar>, envelope: UnsafeMutablePointer<Scalar>
    ) {
        let (spacing, pairsPerMolecule) = (cutoff / Scalar(Swift.max(centers - 1, 1)), atoms * (atoms - 1))
        let minimumChunk = moleculesPerChunk(pairsPerMolecule * centers)
        ParallelLoop.forEachChunk(molecules, minimumChunk: minimumChunk) { chunk in
            let first = chunk.lowerBound * pairsPerMolecule
            var p = first
            for m in chunk {
                for i in 0..<atoms {
                    let a = atomRows + (m * atoms + i) * 4
                    for j in 0..<atoms where j != i {
                        let b = atomRows + (m * atoms + j) * 4
                        let (dx, dy, dz) = (a[1] - b[1], a[2] - b[2], a[3] - b[3])
                        envelope[p] = (dx * dx + dy * dy + dz * dz).squareRoot()
                        p += 1
                    }
                }
            }
            Scalar.gaussianBasis(
                envelope + first, pairs: p - first, centers: centers, spacing: spacing, gamma: gamma,
                into: basis + first * centers)
            for q in first..<p {
                let r = envelope[q]
                envelope[q] = r < cutoff ? Scalar((Foundation.cos(Double.pi * Double(r / cutoff)) + 1) / 2) : 0
            }
        }
    }

    /// The fewest molecules a core takes in SchNet's pair loops: 2¹⁴ values of `valuesPerMolecule`.
    static func moleculesPerChunk(_ valuesPerMolecule: Int) -> Int {
        Swift.max(1, (1 << 14) / Swift.max(1, valuesPerMolecule))
    }

    /// Row p of `basis` (`centers` values) for the distance `distances[p]`:
    /// `exp(−γ·(r − k·spacing)²)`, 0 below `basisFloor`. The argument is held above
    /// `basisLowestArgument`, whose exponential is normal and below the floor: further down, the
    /// exponential's own last multiplication makes a subnormal value, at the cost of an assist
    /// (SchNet's 4,992 pairs took 1.2 ms against 0.44 on Intel). Double's loop; Float's is
    /// `FloatLoops.gaussianBasis`, sixteen centers to a vector.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func gaussianBasis<Scalar: NetworkScalar>(
        _ distances: UnsafePointer<Scalar>, pairs: Int, centers: Int, spacing: Scalar, gamma: Scalar,
        into basis: UnsafeMutablePointer<Scalar>
    ) {
        let (floor, lowest) = (basisFloor(Scalar.self), basisLowestArgument(Scalar.self))
        for p in 0..<pairs {
            let row = basis + p * centers
            for k in 0..<centers {
                let d = distances[p] - Scalar(k) * spacing
                let value = Scalar.exponential(Swift.max(-gamma * d * d, lowest))
                row[k] = value < floor ? 0 : value
            }
        }
    }

    /// `ln(basisFloor) − 1`, below which `gaussianBasis` holds its arguments.
    @inlinable
    public static func basisLowestArgument<Scalar: NetworkScalar>(_: Scalar.Type) -> Scalar {
        Scalar(Foundation.log(Double(basisFloor(Scalar.self))) - 1)
    }

    /// The smallest nonzero value of `gaussianBasis`: √ of the scalar's smallest normal number
    /// (1.1·10⁻¹⁹ in Float). Far from its center the exponential falls through the subnormal
    /// range (in Float, between e⁻⁸⁷ and e⁻¹⁰³), and a product with a subnormal operand or
    /// result costs an Intel core a microcode assist: the filter networks' first layers ran
    /// 3–20 times slower with subnormal basis values, and their forward product 3.3 times
    /// slower with values between the smallest normal number and this floor, whose products
    /// with the weights are subnormal (docs/measurements/subnormal-basis-2026-12-07.md). Above
    /// the floor a product with any weight or gradient of at least the floor is normal. A value
    /// dropped moves a filter by less than 1.1·10⁻¹⁹ times a weight, beside the nearest
    /// center's term of at least e^(−1/8) times its own (in Double the floor is 1.5·10⁻¹⁵⁴).
    @inlinable
    public static func basisFloor<Scalar: NetworkScalar>(_: Scalar.Type) -> Scalar {
        Scalar.leastNormalMagnitude.squareRoot()
    }

    /// The continuous-filter convolution: `m_i = (1/(atoms − 1))·Σ_{j≠i} c_ij·(w_ij ⊙ h_j)` over
    /// each molecule, with `h` an atom's `width` features, `w` a pair's filter and `c` its
    /// envelope — the mean over the neighbors (SchNetPack's `normalize_filter`), so that the
    /// features' scale does not grow with the cluster. The molecules are split over the cores.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func filterConvolution<Scalar: NetworkScalar>(
        _ h: UnsafePointer<Scalar>, filters w: UnsafePointer<Scalar>, envelope c: UnsafePointer<Scalar>, molecules: Int,
        atoms: Int, width: Int, into m: UnsafeMutablePointer<Scalar>
    ) {
        let (scale, pairsPerMolecule) = (1 / Scalar(Swift.max(atoms - 1, 1)), atoms * (atoms - 1))
        ParallelLoop.forEachChunk(molecules, minimumChunk: moleculesPerChunk(pairsPerMolecule * width)) { chunk in
            var p = chunk.lowerBound * pairsPerMolecule
            for molecule in chunk {
                for i in 0..<atoms {
                    let out = m + (molecule * atoms + i) * width
                    out.update(repeating: 0, count: width)
                    for j in 0..<atoms where j != i {
                        let (hj, wp, cp) = (h + (molecule * atoms + j) * width, w + p * width, scale * c[p])
                        if cp != 0 { for f in 0..<width { out[f] += cp * wp[f] * hj[f] } }
                        p += 1
                    }
                }
            }
        }
    }

    /// The gradients of `filterConvolution` from `dm`: `dh_j = Σ_{i≠j} c′_ij·(w_ij ⊙ dm_i)` and
    /// `dw_ij = c′_ij·(dm_i ⊙ h_j)`, c′ = c/(atoms − 1); both outputs overwritten. The molecules
    /// are split over the cores.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func filterConvolutionBackward<Scalar: NetworkScalar>(
        _ h: UnsafePointer<Scalar>, filters w: UnsafePointer<Scalar>, envelope c: UnsafePointer<Scalar>,
        outputGradient dm: UnsafePointer<Scalar>, molecules: Int, atoms: Int, width: Int,
        into dh: UnsafeMutablePointer<Scalar>, filterGradient dw: UnsafeMutablePointer<Scalar>
    ) {
        let (scale, pairsPerMolecule) = (1 / Scalar(Swift.max(atoms - 1, 1)), atoms * (atoms - 1))
        ParallelLoop.forEachChunk(molecules, minimumChunk: moleculesPerChunk(pairsPerMolecule * width)) { chunk in
            (dh + chunk.lowerBound * atoms * width).update(repeating: 0, count: chunk.count * atoms * width)
            var p = chunk.lowerBound * pairsPerMolecule
            for molecule in chunk {
                for i in 0..<atoms {
                    let g = dm + (molecule * atoms + i) * width
                    for j in 0..<atoms where j != i {
                        let (hj, dhj, wp, dwp, cp) = (
                            h + (molecule * atoms + j) * width, dh + (molecule * atoms + j) * width, w + p * width,
                            dw + p * width, scale * c[p])
                        for f in 0..<width {
                            dwp[f] = cp * g[f] * hj[f]
                            dhj[f] += cp * wp[f] * g[f]
                        }
                        p += 1
                    }
                }
            }
        }
    }

    /// The mean of each molecule's `atoms` rows of `width` values (`x`, `molecules·atoms` rows)
    /// into `y` (`molecules` rows).
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func atomMean<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, molecules: Int, atoms: Int, width: Int, into y: UnsafeMutablePointer<Scalar>
    ) {
        let scale = 1 / Scalar(atoms)
        for m in 0..<molecules {
            let out = y + m * width
            out.update(repeating: 0, count: width)
            for a in 0..<atoms {
                let row = x + (m * atoms + a) * width
                for f in 0..<width { out[f] += row[f] }
            }
            for f in 0..<width { out[f] *= scale }
        }
    }

    /// The gradient of `atomMean`: each atom's row is its molecule's `dy / atoms`.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func atomMeanBackward<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, molecules: Int, atoms: Int, width: Int, into dx: UnsafeMutablePointer<Scalar>
    ) {
        let scale = 1 / Scalar(atoms)
        for m in 0..<molecules {
            for a in 0..<atoms {
                let row = dx + (m * atoms + a) * width
                for f in 0..<width { row[f] = scale * dy[m * width + f] }
            }
        }
    }
}
