import Foundation
import NGPlus

/// Molecules of a fixed number of atoms for `Model.schnet`: one row per atom,
/// `[species | x | y | z]`, each molecule's atoms together, and each molecule's energy.
public struct MoleculeSet: Sendable {
    /// `molecules·atoms` rows of 4 values.
    public let atomRows: Matrix<Float>
    /// The energy of each molecule, in units of ε_AA.
    public let energies: [Double]
    /// Atoms a molecule.
    public let atoms: Int

    /// The number of molecules.
    public var count: Int { energies.count }

    /// The molecules `indices`, in that order.
    public func subset(_ indices: [Int]) -> MoleculeSet {
        let rows = Matrix<Float>(rows: indices.count * atoms, columns: 4) { r, c in atomRows[indices[r / atoms] * atoms + r % atoms, c] }
        return MoleculeSet(atomRows: rows, energies: indices.map { energies[$0] }, atoms: atoms)
    }
}

/// Binary Lennard-Jones clusters (Kob and Andersen's mixture: ε_AA = 1, σ_AA = 1, ε_AB = 1.5,
/// σ_AB = 0.8, ε_BB = 0.5, σ_BB = 0.88) and their energies, computed in Double: no molecular
/// data set can be installed here, so the SchNet workload is generated. `minima` clusters of `atoms` atoms (a fifth of them B, at random) are each placed
/// at random in a sphere and relaxed by steepest descent to a local minimum of
/// `E = Σ_{i<j} 4ε_ij[(σ_ij/r)¹² − (σ_ij/r)⁶]`; every sample is a minimum with each coordinate
/// displaced by N(0, `displacement`²), drawn again until its energy is within `window`·atoms
/// of the minimum's (the r⁻¹² wall makes a rare close contact cost tens of ε; thermal samples
/// stay near their minimum), and its exact energy. Samples of the first
/// `trainMinima` minima train, the others test: the test clusters are shapes never seen.
public enum LennardJonesClusters {
    /// ε and σ of a pair of species (0: A, 1: B).
    static func parameters(_ a: Int, _ b: Int) -> (epsilon: Double, sigma: Double) {
        switch a + b {
        case 0: (1, 1)
        case 1: (1.5, 0.8)
        default: (0.5, 0.88)
        }
    }

    /// `4ε[(σ/r)¹² − (σ/r)⁶]` of a pair of species at `distance`.
    public static func pairEnergy(_ a: Int, _ b: Int, distance r: Double) -> Double {
        let (epsilon, sigma) = parameters(a, b)
        let s6 = pow(sigma / r, 6)
        return 4 * epsilon * (s6 * s6 - s6)
    }

    /// The energy of a configuration and its forces −∇E.
    public static func energyAndForces(
        species: [Int], positions: [SIMD3<Double>]
    ) -> (energy: Double, forces: [SIMD3<Double>]) {
        var total = 0.0
        var forces = [SIMD3<Double>](repeating: .zero, count: positions.count)
        for i in positions.indices {
            for j in (i + 1)..<positions.count {
                let (epsilon, sigma) = parameters(species[i], species[j])
                let d = positions[i] - positions[j]
                let r2 = (d * d).sum()
                let s6 = pow(sigma * sigma / r2, 3)
                total += 4 * epsilon * (s6 * s6 - s6)
                // −∂E/∂p_i = −(dE/dr)·d/r, with dE/dr = −4ε(12s¹² − 6s⁶)/r.
                let scale = 4 * epsilon * (12 * s6 * s6 - 6 * s6) / r2
                forces[i] += scale * d
                forces[j] -= scale * d
            }
        }
        return (total, forces)
    }

    /// A local minimum reached from a random compact start by steepest descent with a step
    /// that grows while the energy falls and halves when it would rise.
    public static func minimum(atoms: Int, using generator: inout SeededGenerator) -> (species: [Int], positions: [SIMD3<Double>]) {
        let species = (0..<atoms).map { _ in Double.random(in: 0..<1, using: &generator) < 0.2 ? 1 : 0 }
        let radius = 0.75 * pow(Double(atoms), 1.0 / 3)
        var positions: [SIMD3<Double>] = []
        while positions.count < atoms {
            let p = SIMD3(
                Double.random(in: -radius...radius, using: &generator), Double.random(in: -radius...radius, using: &generator),
                Double.random(in: -radius...radius, using: &generator))
            if (p * p).sum() <= radius * radius && positions.allSatisfy({ (($0 - p) * ($0 - p)).sum() > 0.81 }) {
                positions.append(p)
            }
        }
        var (energy, forces) = energyAndForces(species: species, positions: positions)
        var step = 1e-3
        for _ in 0..<20_000 {
            let largest = forces.map { ($0 * $0).sum() }.max()!.squareRoot()
            if largest < 1e-7 { break }
            let trial = zip(positions, forces).map { $0 + step * $1 }
            let (trialEnergy, trialForces) = energyAndForces(species: species, positions: trial)
            if trialEnergy < energy {
                (positions, forces, energy) = (trial, trialForces, trialEnergy)
                step *= 1.2
            } else {
                step /= 2
            }
        }
        return (species, positions)
    }

    /// Training and test molecules: `samples` displaced copies of each of `minima` minima, the
    /// first `trainMinima` minima's for training.
    /// - Throws: `invalidArgument` for fewer than 2 atoms, no training or no test minimum, no
    ///   sample, or a displacement or window that is not positive and finite.
    public static func generate(
        atoms: Int = 13, minima: Int = 24, trainMinima: Int = 20, samples: Int = 250, displacement: Double = 0.05,
        window: Double = 0.5, seed: UInt64
    ) throws(NGError) -> (train: MoleculeSet, test: MoleculeSet) {
        guard atoms >= 2, trainMinima >= 1, minima > trainMinima, samples >= 1, displacement > 0, displacement.isFinite,
              window > 0, window.isFinite else {
            throw .invalidArgument(
                operation: .lennardJonesClustersGenerate, argument: "atoms, minima, trainMinima, samples, displacement",
                reason: "needs 2 atoms, a training and a test minimum, a sample and a positive displacement, got \(atoms), \(minima), \(trainMinima), \(samples), \(displacement)")
        }
        var generator = SeededGenerator(seed: seed)
        func molecules(_ range: Range<Int>, from found: [(species: [Int], positions: [SIMD3<Double>])]) -> MoleculeSet {
            var values: [Float] = []
            var energies: [Double] = []
            for m in range {
                let least = energyAndForces(species: found[m].species, positions: found[m].positions).energy
                for _ in 0..<samples {
                    var (positions, energy) = (found[m].positions, Double.infinity)
                    while !(energy <= least + window * Double(atoms)) {
                        positions = found[m].positions.map { p in
                            p + SIMD3((0..<3).map { _ in displacement * normal(using: &generator) })
                        }
                        energy = energyAndForces(species: found[m].species, positions: positions).energy
                    }
                    energies.append(energy)
                    for (s, p) in zip(found[m].species, positions) { values += [Float(s), Float(p.x), Float(p.y), Float(p.z)] }
                }
            }
            return MoleculeSet(
                atomRows: try! Matrix(rows: energies.count * atoms, columns: 4, elements: values), energies: energies,
                atoms: atoms)
        }
        let found = (0..<minima).map { _ in minimum(atoms: atoms, using: &generator) }
        return (molecules(0..<trainMinima, from: found), molecules(trainMinima..<minima, from: found))
    }
}
