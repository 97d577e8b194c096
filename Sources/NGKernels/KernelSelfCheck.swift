/// A numerical check of the BLAS and LAPACK kernels this process runs, before they are
/// trusted: GEMM (A·B, Aᵀ·B, A·Bᵀ) and Cholesky factorization, in Float and Double, on seeded
/// random problems from 1×1 to 160×160 and 150×97×130 (large enough for OpenBLAS's blocked and
/// threaded paths), each against a plain-loop reference computed in Double.
///
/// Tolerances come from the rounding-error bounds of the algorithms, elementwise:
/// GEMM `|Ĉ − C| ≤ 2·k·ε·(|A|·|B|)`, Cholesky `|L̂·L̂ᵀ − A| ≤ 2·(n+1)·ε·(|L̂|·|L̂ᵀ|)` (Higham,
/// Theorems 3.5 and 10.3, with a factor 2 for the reference's own rounding), ε the type's
/// machine epsilon. A core whose kernels are wrong gives errors orders of magnitude above
/// these; one that uses instructions the CPU lacks kills the process, which is why
/// `KernelSelection` runs this check in a child process.
public struct KernelSelfCheck: Sendable, Equatable {
    /// How many problems were checked.
    public let checks: Int
    /// One line per failed problem: what, the shape, the worst error against its bound.
    public let failures: [String]

    /// "passed (32 problems)", or how many failed and the first failure.
    public var summary: String {
        guard let first = failures.first else { return "passed (\(checks) problems)" }
        return "\(failures.count) of \(checks) problems failed, first \(first)"
    }

    /// True when every problem was within its bound.
    public var passed: Bool { failures.isEmpty }

    /// Runs every check on the kernels of this process (a few milliseconds in a release build).
    public static func run() -> KernelSelfCheck {
        var checker = Checker(corrupt: ProcessEnvironment.value(ProcessEnvironment.testCorruptSelfCheck) == "1")
        checker.checkAll(Float.self)
        checker.checkAll(Double.self)
        return KernelSelfCheck(checks: checker.checks, failures: checker.failures)
    }

    /// Accumulates checks and failures.
    private struct Checker {
        let corrupt: Bool
        var checks = 0
        var failures: [String] = []
        var generator = SeededGenerator(seed: 20_261_130)

        mutating func checkAll<S: BLASScalar>(_: S.Type) {
            for (m, n, k) in [(1, 1, 1), (7, 5, 13), (33, 48, 64), (150, 97, 130)] {
                for (ta, tb) in [(false, false), (true, false), (false, true)] {
                    checkGEMM(S.self, m: m, n: n, k: k, transposeA: ta, transposeB: tb)
                }
            }
            for n in [1, 5, 96, 160] { checkCholesky(S.self, n: n) }
        }

        mutating func checkGEMM<S: BLASScalar>(
            _: S.Type, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool
        ) {
            checks += 1
            // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k when transposed).
            let a = Matrix<S>.random(rows: transposeA ? k : m, columns: transposeA ? m : k, using: &generator)
            let b = Matrix<S>.random(rows: transposeB ? n : k, columns: transposeB ? k : n, using: &generator)
            var c = Matrix<S>(rows: m, columns: n, repeating: .nan)
            do {
                try BLAS.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
            } catch {
                failures.append("\(S.self) GEMM \(m)×\(n)×\(k): \(error)")
                return
            }
            if corrupt { c[0, 0] += 1 }
            // The reference reads A and B as Double arrays in op() order: a plain triple loop.
            let ad = (0..<m * k).map { index in
                let (i, p) = index.quotientAndRemainder(dividingBy: k)
                return Double(transposeA ? a.elements[p * m + i] : a.elements[i * k + p])
            }
            let bd = (0..<k * n).map { index in
                let (p, j) = index.quotientAndRemainder(dividingBy: n)
                return Double(transposeB ? b.elements[j * k + p] : b.elements[p * n + j])
            }
            let computed = c.elements
            let epsilon = Double(S.ulpOfOne)
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var exact = 0.0
                    var magnitude = 0.0
                    for p in 0..<k {
                        let product = ad[i * k + p] * bd[p * n + j]
                        exact += product
                        magnitude += abs(product)
                    }
                    let bound = 2 * Double(k) * epsilon * magnitude + Double(S.leastNormalMagnitude)
                    let error = abs(Double(computed[i * n + j]) - exact)
                    worst = max(worst, error.isNaN ? .infinity : error / bound)
                }
            }
            if worst > 1 {
                let form = (transposeA ? "Aᵀ" : "A") + "·" + (transposeB ? "Bᵀ" : "B")
                failures.append("\(S.self) GEMM \(form) \(m)×\(n)×\(k): error \(worst) × its bound")
            }
        }

        mutating func checkCholesky<S: BLASScalar>(_: S.Type, n: Int) {
            checks += 1
            // A = M·Mᵀ + n·I in Double, rounded once to S: symmetric positive definite and well
            // conditioned, so that the factorization must succeed.
            let factor = (0..<n * n).map { _ in Double.random(in: -1...1, using: &generator) }
            var a = Matrix<S>(rows: n, columns: n)
            for i in 0..<n {
                for j in 0...i {
                    var sum = i == j ? Double(n) : 0
                    for p in 0..<n { sum += factor[i * n + p] * factor[j * n + p] }
                    a[i, j] = S(sum)
                    a[j, i] = S(sum)
                }
            }
            var l = a
            let info = l.withMutableView { LAPACK.potrf($0) }
            guard info == 0 else {
                failures.append("\(S.self) Cholesky \(n)×\(n): LAPACK info \(info) on a positive definite matrix")
                return
            }
            let ld = l.elements.map(Double.init)
            let ad = a.elements.map(Double.init)
            let epsilon = Double(S.ulpOfOne)
            var worst = 0.0
            for i in 0..<n {
                for j in 0...i {
                    var product = 0.0
                    var magnitude = 0.0
                    for p in 0...j {
                        let term = ld[i * n + p] * ld[j * n + p]
                        product += term
                        magnitude += abs(term)
                    }
                    let bound = 2 * Double(n + 1) * epsilon * magnitude + Double(S.leastNormalMagnitude)
                    let error = abs(product - ad[i * n + j])
                    worst = max(worst, error.isNaN ? .infinity : error / bound)
                }
            }
            if worst > 1 {
                failures.append("\(S.self) Cholesky \(n)×\(n): residual \(worst) × its bound")
            }
        }
    }
}
