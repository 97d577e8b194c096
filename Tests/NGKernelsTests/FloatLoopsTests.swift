import Foundation
import NGKernels
import NGPlatform
import NGTestSupport
import Testing

/// `FloatLoops` at every vector level this machine offers (the baseline always; AVX2 and
/// AVX-512 where present): the exponentials within `FloatMath.exp`'s 2 ulp over its whole
/// range and exact at its special values, GELU and its gradient within `GELUReference`'s
/// bounds, the causal softmax, layer normalization and their gradients within bounds derived
/// from their roundings —
/// the levels differ only in rounding (FMA).
@Suite struct FloatLoopsTests {
    static let levels: [FloatLoops] = [VectorLevel.sse, .avx2, .avx512].compactMap { FloatLoops(level: $0) }

    @Test func theMachinesWidestLevelIsSelected() {
        let widest = CPUDescription.current.features.vectorLevel
        #expect(FloatLoops.selected.level == (widest == .avx ? .sse : widest))
        #expect(Self.levels.map(\.level).last == FloatLoops.selected.level)
    }

    @Test func aLevelTheProcessorLacksIsRefused() {
        let baseline = CPUDescription(vendor: "GenuineIntel", family: 6, model: 1, features: [.sse3])
        #expect(FloatLoops(level: .sse, on: baseline)?.level == .sse)
        #expect(FloatLoops(level: .avx2, on: baseline) == nil)
        #expect(FloatLoops(level: .avx512, on: baseline) == nil)
        let avx = CPUDescription(vendor: "GenuineIntel", family: 6, model: 1, features: [.sse3, .avx])
        #expect(FloatLoops(level: .avx, on: avx)?.level == .sse)
    }

    @Test(arguments: levels)
    func exponentialsAreWithinTwoUlpsOverTheWholeRange(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 41)
        for range: ClosedRange<Float> in [-104...(-87), -87...(-1), -1...1, 1...88.72] {
            let x = (0..<100_000).map { _ in Float.random(in: range, using: &generator) }
            var y = [Float](repeating: 0, count: x.count)
            loops.shiftedExponentials(x, into: &y, count: x.count, shift: 0)
            let worst = zip(x, y).map { FloatMathTests.ulps($1, Foundation.exp(Double($0))) }.max() ?? 0
            #expect(worst <= 2, "\(loops.level), \(range): \(worst) ulp")
        }
    }

    /// e^(x − s) is the exponential of the rounded difference, in place as out of place.
    @Test(arguments: levels)
    func shiftedExponentialsInPlace(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 42)
        for count in [1, 7, 16, 33, 1000] {
            let x = (0..<count).map { _ in Float.random(in: -30...30, using: &generator) }
            let shift = x.max()!
            var y = x
            y.withUnsafeMutableBufferPointer { y in
                loops.shiftedExponentials(y.baseAddress!, into: y.baseAddress!, count: count, shift: shift)
            }
            for (value, result) in zip(x, y) {
                #expect(FloatMathTests.ulps(result, Foundation.exp(Double(value - shift))) <= 2)
            }
            #expect(y.max() == 1)
        }
    }

    @Test(arguments: levels)
    func exponentialsAtTheSpecialValues(_ loops: FloatLoops) {
        let x: [Float] = [0, -0.0, .leastNonzeroMagnitude, -.infinity, -105, .infinity, 88.8, 1e30, .nan, -100]
        var y = [Float](repeating: 7, count: x.count)
        loops.shiftedExponentials(x, into: &y, count: x.count, shift: 0)
        #expect(Array(y[0..<8]) == [1, 1, 1, 0, 0, .infinity, .infinity, .infinity])
        #expect(y[8].isNaN)
        #expect(y[9].isSubnormal)
    }

    /// Values to ±7 and the regions where erf switches branch (|x/√2| = 1 and 4), every count
    /// from 1 to 40 (the vector loops' tails), against a Double reference.
    @Test(arguments: levels)
    func geluAndItsGradientMatchADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 43)
        let edges: [Float] = [Double(2).squareRoot(), 4 * Double(2).squareRoot()].flatMap { [$0, -$0] }.map(Float.init)
        var x = (0..<20_000).map { _ in Float.random(in: -7...7, using: &generator) }
        for edge in edges { x += (-50...50).map { edge + Float($0) * edge.ulp } }
        let dy = x.map { _ in Float.random(in: -1...1, using: &generator) }
        for count in Array(1...40) + [x.count] {
            var (y, cumulative, dx) = ([Float](repeating: 0, count: count), [Float](repeating: 0, count: count),
                                       [Float](repeating: 0, count: count))
            loops.gelu(x, into: &y, cumulative: &cumulative, count: count)
            loops.geluBackward(input: x, cumulative: cumulative, outputGradient: dy, into: &dx, count: count)
            let worst = GELUReference.worst(
                x: Array(x[0..<count]), outputGradient: Array(dy[0..<count]), y: y, dx: dx)
            #expect(worst.forward <= 1, "\(loops.level), \(count) values")
            #expect(worst.backward <= 1, "\(loops.level), \(count) values")
        }
    }

    /// SchNet's shifted softplus over −110…110 (past both ends of Float's exponential) and
    /// around 0, every count from 1 to 40 (the vector loops' tails), against Double: y within
    /// 4·10⁻⁷ of max(1, |y|), σ within 2·10⁻⁷; and its values at ±0, ±∞, NaN and subnormals.
    @Test(arguments: levels)
    func shiftedSoftplusMatchesADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 47)
        var x = (0..<20_000).map { _ in Float.random(in: -110...110, using: &generator) }
        x += (0..<2_000).map { _ in Float.random(in: -1e-3...1e-3, using: &generator) }
        for count in Array(1...40) + [x.count] {
            var (y, sigmoid) = ([Float](repeating: .nan, count: count), [Float](repeating: .nan, count: count))
            loops.shiftedSoftplus(x, into: &y, sigmoid: &sigmoid, count: count)
            for i in 0..<count {
                let v = Double(x[i])
                let exact = max(v, 0) + log1p(exp(-abs(v))) - log(2.0)
                #expect(abs(Double(y[i]) - exact) <= 4e-7 * max(1, abs(exact)), "\(loops.level), x = \(v)")
                #expect(abs(Double(sigmoid[i]) - 1 / (1 + exp(-v))) <= 2e-7, "\(loops.level), x = \(v)")
            }
        }
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNormalMagnitude]
        var (y, sigmoid) = ([Float](repeating: 7, count: special.count), [Float](repeating: 7, count: special.count))
        loops.shiftedSoftplus(special, into: &y, sigmoid: &sigmoid, count: special.count)
        #expect(abs(y[0]) <= 1e-7 && abs(y[1]) <= 1e-7 && sigmoid[0] == 0.5 && sigmoid[1] == 0.5)
        #expect(y[2] == .infinity && sigmoid[2] == 1)
        #expect(abs(Double(y[3]) + log(2.0)) <= 1e-7 && sigmoid[3] == 0)
        #expect(y[4].isNaN && sigmoid[4].isNaN)
        #expect(abs(y[5]) <= 1e-7 && abs(y[6]) <= 1e-7 && abs(sigmoid[5] - 0.5) <= 1e-7 && abs(sigmoid[6] - 0.5) <= 1e-7)
    }

    /// Rows of 1 to 256 classes (rows wider than the classes among them) against Double from
    /// the same Float inputs. With u the unit roundoff and n the classes: each e^(z − m) is
    /// within 2 ulp (4u) and their sum adds (n − 1)·u, so log Σ — and a row's loss, whose m and
    /// z_label are exact — is within (n + 3)·u; a probability is within (n + 6)·u (the sum,
    /// the product of the sum and B, its reciprocal, the scaling), the gradient that over B.
    @Test(arguments: levels)
    func softmaxCrossEntropyMatchesADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 45)
        let u = Double(Float.ulpOfOne) / 2
        for (rows, classes, leading) in [(1, 1, 1), (1, 7, 9), (5, 1, 1), (3, 17, 17), (33, 256, 260)] {
            let logits = (0..<rows * leading).map { _ in Float.random(in: -8...8, using: &generator) }
            let labels = (0..<rows).map { _ in Int.random(in: 0..<classes, using: &generator) }
            var gradient = [Float](repeating: .nan, count: rows * classes)
            let total = loops.softmaxCrossEntropy(
                logits, rows: rows, classes: classes, leadingDimension: leading, labels: labels, into: &gradient)
            var expected = 0.0
            for r in 0..<rows {
                let row = (0..<classes).map { Double(logits[r * leading + $0]) }
                let largest = row.max()!
                let sum = row.reduce(0) { $0 + exp($1 - largest) }
                expected += largest + log(sum) - row[labels[r]]
                for j in 0..<classes {
                    let probability = exp(row[j] - largest) / sum
                    let want = (probability - (j == labels[r] ? 1 : 0)) / Double(rows)
                    let bound = Double(classes + 6) * u * max(probability, u) / Double(rows) + u * abs(want)
                    #expect(abs(Double(gradient[r * classes + j]) - want) <= bound, "\(loops.level): [\(r), \(j)] of \(classes)")
                }
            }
            #expect(abs(total - expected) <= Double(rows) * (Double(classes + 3) * u + 1e-12), "\(loops.level), \(rows) × \(classes)")
        }
    }

    /// The L2 decays a fused update is tried with: none, on every value, and on the first 5
    /// columns of rows of 7 from the fourth column on (runs of 2, 2, 5, 2, … values), where the
    /// other columns also keep their weight (`keep` 1: decoupled decay skips them too).
    static let decays: [(decay: Float, columns: FusedWeightUpdate<Float>.DecayedColumns?)] = [
        (0, nil), (0.05, nil), (0.05, .init(rowLength: 7, columns: 5, column: 3)),
    ]

    /// The decayed gradient `g + d·w` of value i under `decays[k]`, in Double, the bound on its
    /// Float rounding (a product and a sum, or one FMA: 2u of its terms), and the weight's
    /// factor: `keep` on a weight column, 1 off them.
    static func decayedGradient(
        _ k: Int, _ i: Int, g: [Float], w: [Float], keep: Float
    ) -> (value: Double, bound: Double, keep: Double) {
        let (decay, columns) = decays[k]
        let applies = columns.map { ($0.column + i) % $0.rowLength < $0.columns } ?? true
        guard applies else { return (Double(g[i]), 0, 1) }
        guard decay != 0 else { return (Double(g[i]), 0, Double(keep)) }
        let d = Double(decay)
        return (Double(g[i]) + d * Double(w[i]), Double(Float.ulpOfOne) * (abs(Double(g[i])) + d * abs(Double(w[i]))),
                Double(keep))
    }

    /// `body` given the fused update of `w` into `newWeight` with `decays[k]`; its result.
    static func withFusedUpdate(
        _ k: Int, weight w: [Float], into newWeight: inout [Float], keep: Float, rate: Float,
        _ body: (FusedWeightUpdate<Float>) -> Bool
    ) -> Bool {
        w.withUnsafeBufferPointer { w in
            newWeight.withUnsafeMutableBufferPointer { target in
                body(FusedWeightUpdate(
                    weight: w.baseAddress!, newWeight: target.baseAddress!, keep: keep, rate: rate,
                    decay: decays[k].decay, decayedColumns: decays[k].columns))
            }
        }
    }

    /// Adam's update of 1 to 1,000 values (the vector loops' tails), with the step written over
    /// the gradient and fused into a weight (with each of `decays`), against Double from the
    /// same Float inputs. With u the unit roundoff and e the decayed gradient's error: m′ (two
    /// products and a sum) is within 2u·(β₁|m| + (1 − β₁)|g|) + (1 − β₁)·e, v′ within 3u of its
    /// terms (all positive) and (1 − β₂)·2|g|·e; the step s = m′c₁/(√(v′c₂) + ε) carries m′'s
    /// error times c₁/d, half v′'s relative error and its own relative 8u (the rounded inverse
    /// corrections, the products, the root, the sum d, the division); w′ = keep·w − rate·s
    /// carries rate times that, and 2u of its terms. A NaN gradient is reported.
    @Test(arguments: levels)
    func adamUpdateMatchesADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 47)
        let u = Double(Float.ulpOfOne) / 2
        let (beta1, beta2, epsilon, keep, rate): (Float, Float, Float, Float, Float) = (0.9, 0.999, 1e-8, 0.999, 1e-3)
        let (correction1, correction2): (Float, Float) = (0.271, 0.00299)
        let (b1, b2, c1, c2) = (Double(beta1), Double(beta2), 1 / Double(correction1), 1 / Double(correction2))
        let (keep1, keep2) = (Double(1 - beta1), Double(1 - beta2))
        for count in Array(1...33) + [1000] {
            let g = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
            let m = (0..<count).map { _ in Float.random(in: -0.1...0.1, using: &generator) }
            let v = (0..<count).map { _ in Float.random(in: 0...0.01, using: &generator) }
            let w = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
            var (mNew, vNew, newWeight) = ([Float](repeating: .nan, count: count), [Float](repeating: .nan, count: count),
                                           [Float](repeating: .nan, count: count))
            var step = g
            #expect(loops.adamUpdate(
                gradient: &step, firstMoment: m, secondMoment: v, intoFirst: &mNew, intoSecond: &vNew, count: count,
                beta1: beta1, beta2: beta2, correction1: correction1, correction2: correction2, epsilon: epsilon,
                weightUpdate: nil))
            for k in Self.decays.indices {
                let context = "\(loops.level), \(count) values, decay \(k)"
                var (fusedFirst, fusedSecond) = ([Float](repeating: .nan, count: count), [Float](repeating: .nan, count: count))
                var unchanged = g
                let fusedFinite = Self.withFusedUpdate(k, weight: w, into: &newWeight, keep: keep, rate: rate) {
                    loops.adamUpdate(
                        gradient: &unchanged, firstMoment: m, secondMoment: v, intoFirst: &fusedFirst,
                        intoSecond: &fusedSecond, count: count, beta1: beta1, beta2: beta2, correction1: correction1,
                        correction2: correction2, epsilon: epsilon, weightUpdate: $0)
                }
                #expect(fusedFinite)
                #expect(unchanged == g, "\(context)")
                if k == 0 { #expect(fusedFirst == mNew && fusedSecond == vNew, "\(context)") }
                for i in 0..<count {
                    let (gi, e, factor) = Self.decayedGradient(k, i, g: g, w: w, keep: keep)
                    let (mi, vi) = (Double(m[i]), Double(v[i]))
                    let first = b1 * mi + keep1 * gi, second = b2 * vi + keep2 * gi * gi
                    let firstBound = 2 * u * (b1 * abs(mi) + keep1 * abs(gi)) + keep1 * e
                    let secondBound = 3 * u * second + keep2 * 2 * abs(gi) * e
                    #expect(abs(Double(fusedFirst[i]) - first) <= firstBound, "\(context): m′[\(i)]")
                    #expect(abs(Double(fusedSecond[i]) - second) <= secondBound, "\(context): v′[\(i)]")
                    let denominator = (second * c2).squareRoot() + Double(epsilon)
                    let want = first * c1 / denominator
                    let stepBound = firstBound * c1 / denominator + (8 * u + secondBound / (2 * second)) * abs(want)
                    if k == 0 { #expect(abs(Double(step[i]) - want) <= stepBound, "\(context): step[\(i)]") }
                    let weight = factor * Double(w[i]) - Double(rate) * want
                    let weightBound = Double(rate) * stepBound + 2 * u * (factor * abs(Double(w[i])) + Double(rate) * abs(want))
                    #expect(abs(Double(newWeight[i]) - weight) <= weightBound, "\(context): w′[\(i)]")
                }
            }
            var nan = g
            nan[count / 2] = .nan
            #expect(!loops.adamUpdate(
                gradient: &nan, firstMoment: m, secondMoment: v, intoFirst: &mNew, intoSecond: &vNew, count: count,
                beta1: beta1, beta2: beta2, correction1: correction1, correction2: correction2, epsilon: epsilon,
                weightUpdate: nil))
        }
    }

    /// Momentum SGD's update of 1 to 1,000 values, restarted or not, heavy-ball and Nesterov,
    /// the step written over the gradient and fused into a weight (with each of `decays`),
    /// against Double from the same Float inputs. With u the unit roundoff and e the decayed
    /// gradient's error: v′ = μ·v + g (a product and a sum, or one FMA) is within
    /// 2u·(μ|v| + |g|) + e, and within e on a restart (v′ = g); Nesterov's s = g + μ·v′
    /// carries e, μ times v′'s error and 2u of its terms; w′ = keep·w − rate·s carries rate
    /// times s's error and 2u of its terms. A NaN gradient is reported.
    @Test(arguments: levels)
    func momentumUpdateMatchesADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 48)
        let u = Double(Float.ulpOfOne) / 2
        let (mu, keep, rate): (Float, Float, Float) = (0.9, 0.999, 1e-2)
        let m = Double(mu)
        for count in Array(1...33) + [1000] {
            let g = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
            let v = (0..<count).map { _ in Float.random(in: -3...3, using: &generator) }
            let w = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
            for restart in [false, true] {
                for nesterov in [false, true] {
                    var vNew = [Float](repeating: .nan, count: count)
                    var step = g
                    #expect(loops.momentumUpdate(
                        gradient: &step, velocity: v, into: &vNew, count: count, momentum: mu, restart: restart,
                        nesterov: nesterov, weightUpdate: nil))
                    for k in Self.decays.indices {
                        let context = "\(loops.level), \(count) values, restart \(restart), Nesterov \(nesterov), decay \(k)"
                        var (fusedVelocity, newWeight) = ([Float](repeating: .nan, count: count), [Float](repeating: .nan, count: count))
                        var unchanged = g
                        let fusedFinite = Self.withFusedUpdate(k, weight: w, into: &newWeight, keep: keep, rate: rate) {
                            loops.momentumUpdate(
                                gradient: &unchanged, velocity: v, into: &fusedVelocity, count: count, momentum: mu,
                                restart: restart, nesterov: nesterov, weightUpdate: $0)
                        }
                        #expect(fusedFinite)
                        #expect(unchanged == g, "\(context)")
                        if k == 0 { #expect(fusedVelocity == vNew, "\(context)") }
                        for i in 0..<count {
                            let (gi, e, factor) = Self.decayedGradient(k, i, g: g, w: w, keep: keep)
                            let vi = Double(v[i])
                            let velocity = restart ? gi : m * vi + gi
                            let velocityBound = restart ? e : 2 * u * (m * abs(vi) + abs(gi)) + e
                            #expect(abs(Double(fusedVelocity[i]) - velocity) <= velocityBound, "\(context): v′[\(i)]")
                            let want = nesterov ? gi + m * velocity : velocity
                            let stepBound = nesterov
                                ? e + m * velocityBound + 2 * u * (abs(gi) + m * abs(velocity)) : velocityBound
                            if k == 0 { #expect(abs(Double(step[i]) - want) <= stepBound, "\(context): step[\(i)]") }
                            let weight = factor * Double(w[i]) - Double(rate) * want
                            let weightBound = Double(rate) * stepBound
                                + 2 * u * (factor * abs(Double(w[i])) + Double(rate) * abs(want))
                            #expect(abs(Double(newWeight[i]) - weight) <= weightBound, "\(context): w′[\(i)]")
                        }
                    }
                }
            }
            var nan = g
            nan[count / 2] = .nan
            var velocity = [Float](repeating: 0, count: count)
            #expect(!loops.momentumUpdate(
                gradient: &nan, velocity: v, into: &velocity, count: count, momentum: mu, restart: false, nesterov: false,
                weightUpdate: nil))
        }
    }

    /// A sparse step's scattered rows in one call: the same bits as `momentumUpdate` row by row
    /// (which the test above holds to Double), for no rows, fewer rows than are prefetched
    /// ahead and more, rows of 1 to 130 values (past the eight lines prefetched of a row), the
    /// gradient unchanged; a NaN in a row's gradient is reported.
    @Test(arguments: levels)
    func momentumUpdateRowsMatchesTheUpdateRowByRow(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 49)
        let (vocabulary, mu, keep, rate, decay): (Int, Float, Float, Float, Float) = (50, 0.9, 0.999, 1e-2, 1e-3)
        // Where no row's weight goes (no rows: an empty array has no storage).
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        for width in [1, 3, 16, 17, 40, 130] {
            let table = (0..<vocabulary * width).map { _ in Float.random(in: -1...1, using: &generator) }
            let velocity = (0..<vocabulary * width).map { _ in Float.random(in: -3...3, using: &generator) }
            for count in [0, 1, 9, 30] {
                let rows = Array((0..<vocabulary).shuffled(using: &generator).prefix(count))
                var g = (0..<count * width).map { _ in Float.random(in: -1...1, using: &generator) }
                for (restart, nesterov) in [(false, false), (false, true), (true, false)] {
                    let context = "\(loops.level), width \(width), \(count) rows, restart \(restart), Nesterov \(nesterov)"
                    var (expectedVelocity, expectedWeight) = ([Float](repeating: .nan, count: count * width), [Float](repeating: .nan, count: count * width))
                    var gradient = g
                    for k in 0..<count {
                        let row = rows[k] * width
                        table.withUnsafeBufferPointer { table in
                            velocity.withUnsafeBufferPointer { velocity in
                                gradient.withUnsafeMutableBufferPointer { gradient in
                                    expectedVelocity.withUnsafeMutableBufferPointer { into in
                                        expectedWeight.withUnsafeMutableBufferPointer { target in
                                            #expect(loops.momentumUpdate(
                                                gradient: gradient.baseAddress! + k * width,
                                                velocity: velocity.baseAddress! + row, into: into.baseAddress! + k * width,
                                                count: width, momentum: mu, restart: restart, nesterov: nesterov,
                                                weightUpdate: FusedWeightUpdate(
                                                    weight: table.baseAddress! + row,
                                                    newWeight: target.baseAddress! + k * width, keep: keep, rate: rate,
                                                    decay: decay)))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    var (newVelocity, newWeight) = ([Float](repeating: .nan, count: count * width), [Float](repeating: .nan, count: count * width))
                    let finite = table.withUnsafeBufferPointer { table in
                        newWeight.withUnsafeMutableBufferPointer { target in
                            rows.withUnsafeBufferPointer { rows in
                                loops.momentumUpdateRows(
                                    gradient: &g, velocity: velocity, into: &newVelocity, rows: rows, width: width,
                                    momentum: mu, restart: restart, nesterov: nesterov, weightUpdate: FusedWeightUpdate(
                                        weight: table.baseAddress!, newWeight: target.baseAddress ?? scratch,
                                        keep: keep, rate: rate, decay: decay))
                            }
                        }
                    }
                    #expect(finite, "\(context)")
                    #expect(g == gradient, "\(context)")
                    #expect(newVelocity.map(\.bitPattern) == expectedVelocity.map(\.bitPattern), "\(context)")
                    #expect(newWeight.map(\.bitPattern) == expectedWeight.map(\.bitPattern), "\(context)")
                }
                guard count > 0 else { continue }
                var nan = g
                nan[(count - 1) * width] = .nan
                var (v, w) = ([Float](repeating: 0, count: count * width), [Float](repeating: 0, count: count * width))
                let finite = table.withUnsafeBufferPointer { table in
                    w.withUnsafeMutableBufferPointer { target in
                        rows.withUnsafeBufferPointer { rows in
                            loops.momentumUpdateRows(
                                gradient: &nan, velocity: velocity, into: &v, rows: rows, width: width, momentum: mu,
                                restart: false, nesterov: false, weightUpdate: FusedWeightUpdate(
                                    weight: table.baseAddress!, newWeight: target.baseAddress!, keep: keep, rate: rate,
                                    decay: decay))
                        }
                    }
                }
                #expect(!finite, "\(loops.level), width \(width), \(count) rows")
            }
        }
    }

    /// Adam's sparse step in one call: the same bits as `adamUpdate` row by row (which
    /// `adamUpdateMatchesADoubleReference` holds to Double), with the new weights written (the
    /// gradient unchanged) and without (the step over the gradient), for no rows, fewer rows
    /// than are prefetched ahead and more, rows of 1 to 130 values; a NaN in the last row's
    /// gradient is reported.
    @Test(arguments: levels)
    func adamUpdateRowsMatchesTheUpdateRowByRow(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 62)
        let vocabulary = 50
        let (b1, b2, c1, c2, eps, keep, rate, decay): (Float, Float, Float, Float, Float, Float, Float, Float) =
            (0.9, 0.999, 0.271, 0.00299, 1e-8, 0.999, 1e-2, 1e-3)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        for width in [1, 3, 16, 17, 40, 130] {
            let draw = { (scale: Float, count: Int, generator: inout SeededGenerator) in
                (0..<count).map { _ in Float.random(in: -scale...scale, using: &generator) }
            }
            let table = draw(1, vocabulary * width, &generator)
            let m = draw(1, vocabulary * width, &generator)
            let v = draw(1, vocabulary * width, &generator).map { $0 * $0 }
            for count in [0, 1, 9, 30] {
                let rows = Array((0..<vocabulary).shuffled(using: &generator).prefix(count))
                let g = draw(1, count * width, &generator)
                for fused in [true, false] {
                    let context = "\(loops.level), width \(width), \(count) rows, weights written \(fused)"
                    let empty = [Float](repeating: .nan, count: count * width)
                    var (wantFirst, wantSecond, wantWeight, wantGradient) = (empty, empty, empty, g)
                    for k in 0..<count {
                        let (row, at) = (rows[k] * width, k * width)
                        let reference = { (m: UnsafePointer<Float>, v: UnsafePointer<Float>, table: UnsafePointer<Float>,
                                           gradient: UnsafeMutablePointer<Float>, first: UnsafeMutablePointer<Float>,
                                           second: UnsafeMutablePointer<Float>, target: UnsafeMutablePointer<Float>) in
                            loops.adamUpdate(
                                gradient: gradient + at, firstMoment: m + row, secondMoment: v + row, intoFirst: first + at,
                                intoSecond: second + at, count: width, beta1: b1, beta2: b2, correction1: c1,
                                correction2: c2, epsilon: eps,
                                weightUpdate: fused
                                    ? FusedWeightUpdate(
                                        weight: table + row, newWeight: target + at, keep: keep, rate: rate, decay: decay)
                                    : nil)
                        }
                        #expect(m.withUnsafeBufferPointer { m in v.withUnsafeBufferPointer { v in
                            table.withUnsafeBufferPointer { table in wantGradient.withUnsafeMutableBufferPointer { gradient in
                                wantFirst.withUnsafeMutableBufferPointer { first in wantSecond.withUnsafeMutableBufferPointer { second in
                                    wantWeight.withUnsafeMutableBufferPointer { target in
                                        reference(
                                            m.baseAddress!, v.baseAddress!, table.baseAddress!, gradient.baseAddress!,
                                            first.baseAddress!, second.baseAddress!, target.baseAddress!)
                                    }
                                } }
                            } }
                        } })
                    }
                    var (first, second, weight, gradient) = (empty, empty, empty, g)
                    let finite = table.withUnsafeBufferPointer { table in
                        weight.withUnsafeMutableBufferPointer { target in
                            rows.withUnsafeBufferPointer { rows in
                                loops.adamUpdateRows(
                                    gradient: &gradient, firstMoment: m, secondMoment: v, intoFirst: &first,
                                    intoSecond: &second, rows: rows, width: width, beta1: b1, beta2: b2, correction1: c1,
                                    correction2: c2, epsilon: eps,
                                    weightUpdate: fused
                                        ? FusedWeightUpdate(
                                            weight: table.baseAddress!, newWeight: target.baseAddress ?? scratch, keep: keep,
                                            rate: rate, decay: decay)
                                        : nil)
                            }
                        }
                    }
                    #expect(finite, "\(context)")
                    #expect(gradient.map(\.bitPattern) == wantGradient.map(\.bitPattern), "\(context)")
                    #expect(first.map(\.bitPattern) == wantFirst.map(\.bitPattern), "\(context)")
                    #expect(second.map(\.bitPattern) == wantSecond.map(\.bitPattern), "\(context)")
                    #expect(weight.map(\.bitPattern) == wantWeight.map(\.bitPattern), "\(context)")
                    guard count > 0 else { continue }
                    var nan = g
                    nan[count * width - 1] = .nan
                    let reported = rows.withUnsafeBufferPointer { rows in
                        loops.adamUpdateRows(
                            gradient: &nan, firstMoment: m, secondMoment: v, intoFirst: &first, intoSecond: &second,
                            rows: rows, width: width, beta1: b1, beta2: b2, correction1: c1, correction2: c2, epsilon: eps,
                            weightUpdate: nil)
                    }
                    #expect(!reported, "\(context)")
                }
            }
        }
    }

    /// 2×2 max pooling of one plane at an offset into a larger input, the last plane of it (so
    /// that a read past the plane would leave the array), rectified or not, on values drawn
    /// from a few levels (ties) and a few NaNs, against a plain-loop reference: exact, as a
    /// maximum is; the first of equal values wins and a NaN never replaces a value; the
    /// offsets are the input's; nothing written past the plane's outputs. Planes of rows of
    /// fewer than eight windows (4 × 6, 2 × 2, 14 × 14: one at a time, or eight at a time
    /// reading into the next row), of 14 and 17 (a full block of eight and a partial one), of
    /// 16 and 20.
    /// Column sums of blocks (no rows, one column, 64-wide chunks and their tails, strided
    /// output, accumulated or not) against a plain loop that sums each column in order of its
    /// rows from 0 and then adds: no FMA, so the same bits at every level. The sums go into
    /// every `stride`-th value only (the values between keep their NaN), and a NaN in the block
    /// reaches its column alone.
    @Test(arguments: levels)
    func columnSumsMatchAPlainLoopBitForBit(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 61)
        let shapes = [(0, 5), (1, 1), (3, 1), (7, 16), (256, 64), (19, 65), (33, 130), (5, 200), (2, 63)]
        for (rows, columns) in shapes {
            for (lda, stride, accumulate) in [(columns, 1, false), (columns + 3, 3, true), (columns + 1, 2, false)] {
                var a = (0..<max(1, rows * lda)).map { _ in Float.random(in: -4...4, using: &generator) }
                let poisoned = rows > 0 && columns > 2 ? (rows / 2) * lda + columns / 2 : nil
                if let poisoned { a[poisoned] = .nan }
                let held = (0..<columns * stride).map { $0 % stride == 0 ? Float.random(in: -4...4, using: &generator) : .nan }
                var sums = held
                loops.columnSums(
                    a, rows: rows, columns: columns, leadingDimension: lda, accumulate: accumulate, into: &sums,
                    stride: stride)
                for c in 0..<columns {
                    var sum: Float = 0
                    for r in 0..<rows { sum += a[r * lda + c] }
                    let want = accumulate ? held[c * stride] + sum : sum
                    let got = sums[c * stride]
                    let what = "\(loops.level) \(rows)×\(columns) lda \(lda) stride \(stride) column \(c)"
                    #expect(got.bitPattern == want.bitPattern || (got.isNaN && want.isNaN), "\(what)")
                    #expect(got.isNaN == (poisoned.map { $0 % lda == c } ?? false), "\(what)")
                    for between in 1..<stride { #expect(sums[c * stride + between].isNaN, "\(what)") }
                }
            }
        }
    }

    @Test(arguments: levels)
    func maxPoolingOfAPlaneMatchesAPlainLoop(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 46)
        for (height, width) in [(4, 6), (2, 2), (14, 14), (28, 28), (6, 34), (2, 32), (4, 40)] {
            let (plane, windows, input) = (height * width, height * width / 4, 2 * height * width)
            let x = (0..<3 * plane).map { _ in
                Int.random(in: 0..<50, using: &generator) == 0 ? .nan : Float(Int.random(in: -3...3, using: &generator)) / 2
            }
            for rectify in [false, true] {
                var y = [Float](repeating: .nan, count: windows + 1)
                var argmax = [Int32](repeating: 7, count: windows + 1)
                loops.maxPoolPlane(x, input: input, height: height, width: width, rectify: rectify, into: &y, argmax: &argmax)
                for oy in 0..<height / 2 {
                    for ox in 0..<width / 2 {
                        let top = input + 2 * oy * width + 2 * ox
                        var best = top
                        for candidate in [top + 1, top + width, top + width + 1] where x[candidate] > x[best] {
                            best = candidate
                        }
                        let o = oy * (width / 2) + ox
                        let passes = !rectify || x[best] > 0
                        let what = "\(loops.level) \(height)×\(width) rectify \(rectify) output \(o)"
                        let want = passes ? x[best] : 0
                        #expect(y[o] == want || (y[o].isNaN && want.isNaN), "\(what)")
                        #expect(argmax[o] == (passes ? Int32(best) : -1), "\(what)")
                    }
                }
                #expect(y[windows].isNaN && argmax[windows] == 7)
            }
        }
    }

    /// Pooling of an output laid out by position (height·width rows of c channels) against a plain
    /// loop: values in halves from −1.5 to 1.5, so that ties are common, and a NaN in about one
    /// of 50; channel counts below 16, a whole block, a block and a tail that overlaps it, and
    /// four blocks; windows fewer than 16, one block of 16, and several with a last block that
    /// overlaps the one before; the argmax an offset in the channel-major output. Nothing is
    /// written past the pooled planes.
    @Test(arguments: levels)
    func maxPoolingByPositionMatchesAPlainLoop(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 47)
        let shapes = [(1, 2, 2), (3, 4, 6), (16, 14, 14), (17, 6, 4), (64, 14, 14), (40, 2, 8), (40, 8, 8), (33, 10, 12), (32, 28, 28)]
        for (channels, height, width) in shapes {
            let (positions, windows) = (height * width, height * width / 4)
            let yt = (0..<positions * channels).map { _ in
                Int.random(in: 0..<50, using: &generator) == 0 ? .nan : Float(Int.random(in: -3...3, using: &generator)) / 2
            }
            for rectify in [false, true] {
                var y = [Float](repeating: 99, count: channels * windows + 1)
                var argmax = [Int32](repeating: 7, count: channels * windows + 1)
                loops.maxPoolPositions(
                    yt, channels: channels, height: height, width: width, rectify: rectify, into: &y, argmax: &argmax)
                for o in 0..<channels {
                    for oy in 0..<height / 2 {
                        for ox in 0..<width / 2 {
                            let top = 2 * oy * width + 2 * ox
                            var best = top
                            for candidate in [top + 1, top + width, top + width + 1]
                            where yt[candidate * channels + o] > yt[best * channels + o] {
                                best = candidate
                            }
                            let q = o * windows + oy * (width / 2) + ox
                            let value = yt[best * channels + o]
                            let passes = !rectify || value > 0
                            let what = "\(loops.level) \(channels) × \(height)×\(width) rectify \(rectify) channel \(o) window \(q)"
                            let want = passes ? value : 0
                            #expect(y[q] == want || (y[q].isNaN && want.isNaN), "\(what)")
                            #expect(argmax[q] == (passes ? Int32(o * positions + best) : -1), "\(what)")
                        }
                    }
                }
                #expect(y[channels * windows] == 99 && argmax[channels * windows] == 7)
            }
        }
    }

    /// Blocks of rows of a score matrix (a 1 × 1 one, blocks starting past row 0, rows wider
    /// than the block, counts on and off multiples of 16) against softmax in Double. With u the
    /// unit roundoff and dⱼ = xⱼ − max rounded (relative error u), each eᵈ is within
    /// (|dⱼ|/2 + 2)·2u of e^(xⱼ − max) — its argument's rounding and the exponential's 2 ulp —
    /// the sum of n of them adds (n − 1)·u (in any order), the scaling by the sum's rounded
    /// reciprocal 2u: Pⱼ is within
    /// Pⱼ·2u·(|dⱼ|/2 + 2 + maxₖ|dₖ|/2 + 2 + n/2 + 1). The gradient, with P and dP exact, has
    /// the dot product's n·u·Σ|Pₖ·dPₖ| and two roundings of its own.
    @Test(arguments: levels)
    func causalSoftmaxAndItsGradientMatchADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 44)
        let u = Double(Float.ulpOfOne) / 2
        for (size, firstRow, rows, leading) in [(1, 0, 1, 1), (7, 0, 7, 9), (64, 0, 64, 64), (128, 64, 64, 128),
                                                (40, 17, 23, 41), (200, 100, 100, 200)] {
            let scores = (0..<rows * leading).map { _ in Float.random(in: -8...8, using: &generator) }
            let outputGradient = (0..<rows * leading).map { _ in Float.random(in: -1...1, using: &generator) }
            var p = scores
            loops.causalSoftmax(&p, rows: rows, firstRow: firstRow, size: size, leadingDimension: leading)
            var ds = outputGradient
            loops.causalSoftmaxBackward(p, &ds, rows: rows, firstRow: firstRow, size: size, leadingDimension: leading)
            for r in 0..<rows {
                let count = firstRow + r + 1
                let row = (0..<count).map { Double(scores[r * leading + $0]) }
                let largest = row.max()!
                let exponentials = row.map { exp($0 - largest) }
                let sum = exponentials.reduce(0, +)
                let widest = row.map { abs($0 - largest) }.max()!
                let probabilities = (0..<count).map { Double(p[r * leading + $0]) }
                let gradient = (0..<count).map { Double(outputGradient[r * leading + $0]) }
                let dot = zip(probabilities, gradient).map(*).reduce(0, +)
                let dotBound = Double(count) * u * zip(probabilities, gradient).map { abs($0 * $1) }.reduce(0, +)
                for j in 0..<count {
                    let want = exponentials[j] / sum
                    let bound = want * 2 * u * (abs(row[j] - largest) / 2 + 2 + widest / 2 + 2 + Double(count) / 2 + 1)
                    #expect(abs(probabilities[j] - want) <= bound, "\(loops.level): P[\(r), \(j)] of \(size)")
                    let wantGradient = probabilities[j] * (gradient[j] - dot)
                    let gradientBound = probabilities[j] * dotBound + 2 * u * abs(wantGradient) + u * probabilities[j] * u
                    #expect(abs(Double(ds[r * leading + j]) - wantGradient) <= gradientBound,
                            "\(loops.level): dS[\(r), \(j)] of \(size)")
                }
                #expect(p[(r * leading + count)..<(r * leading + size)].allSatisfy { $0 == 0 })
                #expect(ds[(r * leading + count)..<(r * leading + size)].allSatisfy { $0 == 0 })
                // Columns past the matrix's width are left alone.
                #expect(p[(r * leading + size)..<(r + 1) * leading] == scores[(r * leading + size)..<(r + 1) * leading])
            }
        }
    }

    /// Rows of 1 to 130 values (one row, and 17) against Double from the same Float inputs. With
    /// u the unit roundoff, n the width and σ the row's deviation: μ's sum is within n·u·max|x|,
    /// which moves every x̂ by that over σ and σ by twice it; the sum of squares, the square
    /// root and the division add (n/2 + 6)·u of x̂ — so x̂ is within
    /// u·((n + 1)·(max|x|/σ)·(1 + |x̂|) + (n/2 + 6)·|x̂|), and y = γx̂ + β that times |γ| and two
    /// roundings. The gradient, from the same x̂ and 1/σ: each of the two row means is within
    /// n·u of the largest term it sums, and the combination adds four roundings; dγ and dβ sum
    /// the rows, within (rows + 1)·u of the sum of their terms' magnitudes. The loops keep μ and
    /// 1/σ, not x̂: both passes form x̂ = (x − μ)·(1/σ) in Float, as the test does.
    @Test(arguments: levels)
    func layerNormAndItsGradientMatchADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 45)
        let u = Double(Float.ulpOfOne) / 2
        for (rows, width) in [(1, 1), (1, 7), (17, 16), (3, 33), (17, 130)] {
            let x = (0..<rows * width).map { _ in Float.random(in: -2...2, using: &generator) + 3 }
            let dy = (0..<rows * width).map { _ in Float.random(in: -1...1, using: &generator) }
            let gain = (0..<width).map { _ in Float.random(in: 0.5...1.5, using: &generator) }
            let bias = (0..<width).map { _ in Float.random(in: -1...1, using: &generator) }
            var (y, means, inverse) = ([Float](repeating: 0, count: rows * width), [Float](repeating: 0, count: rows),
                                       [Float](repeating: 0, count: rows))
            loops.layerNorm(x, rows: rows, width: width, gain: gain, bias: bias, epsilon: 1e-5, into: &y, means: &means,
                            inverseDeviation: &inverse)
            let hat = (0..<rows * width).map { (x[$0] - means[$0 / width]) * inverse[$0 / width] }
            var (dx, gainGradient, biasGradient) = ([Float](repeating: 0, count: rows * width),
                                                    [Float](repeating: 9, count: width), [Float](repeating: 9, count: width))
            loops.layerNormBackward(dy, input: x, means: means, inverseDeviation: inverse, rows: rows, width: width,
                                    gain: gain, into: &dx, gainGradient: &gainGradient, biasGradient: &biasGradient)
            let n = Double(width)
            for r in 0..<rows {
                let row = (0..<width).map { Double(x[r * width + $0]) }
                let mean = row.reduce(0, +) / n
                let deviation = (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n + Double(Float(1e-5))).squareRoot()
                let largest = row.map(abs).max()!
                #expect(abs(Double(means[r]) - mean) <= Double(width + 1) * u * largest, "\(loops.level): μ of row \(r)")
                #expect(abs(Double(inverse[r]) * deviation - 1) <= u * ((n + 1) * 2 * largest / deviation + n / 2 + 6))
                // The gradient from the Float x̂ and 1/σ, as the loop reads them.
                let h = (0..<width).map { Double(hat[r * width + $0]) }
                let g = (0..<width).map { Double(dy[r * width + $0]) * Double(gain[$0]) }
                let gMean = g.reduce(0, +) / n
                let weightedMean = zip(g, h).map(*).reduce(0, +) / n
                let gLargest = g.map(abs).max()!
                let weightedLargest = zip(g, h).map { abs($0 * $1) }.max()!
                for j in 0..<width {
                    let wantHat = (row[j] - mean) / deviation
                    let hatBound = u * ((n + 1) * (largest / deviation) * (1 + abs(wantHat)) + (n / 2 + 6) * abs(wantHat))
                    #expect(abs(h[j] - wantHat) <= hatBound, "\(loops.level): x̂[\(r), \(j)] of width \(width)")
                    let wantY = Double(gain[j]) * wantHat + Double(bias[j])
                    #expect(abs(Double(y[r * width + j]) - wantY) <= Double(gain[j]) * hatBound + 2 * u * (abs(wantY) + 1))
                    let inv = Double(inverse[r])
                    let wantDx = inv * (g[j] - gMean - h[j] * weightedMean)
                    let dxBound = inv * (n * u * gLargest + abs(h[j]) * n * u * weightedLargest
                        + 4 * u * (abs(g[j]) + abs(gMean) + abs(h[j] * weightedMean))) + u * abs(wantDx)
                    #expect(abs(Double(dx[r * width + j]) - wantDx) <= dxBound, "\(loops.level): dx[\(r), \(j)]")
                }
            }
            for j in 0..<width {
                let terms = (0..<rows).map { Double(dy[$0 * width + j]) * Double(hat[$0 * width + j]) }
                let biasTerms = (0..<rows).map { Double(dy[$0 * width + j]) }
                let bound = Double(rows + 1) * u
                #expect(abs(Double(gainGradient[j]) - terms.reduce(0, +)) <= bound * terms.map(abs).reduce(0, +))
                #expect(abs(Double(biasGradient[j]) - biasTerms.reduce(0, +)) <= bound * biasTerms.map(abs).reduce(0, +))
            }
        }
    }
}

extension FloatLoops: CustomTestStringConvertible {
    public var testDescription: String { "\(level)" }
}
