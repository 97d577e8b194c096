import Foundation
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// SchNet's data, layers and training: the Lennard-Jones energies by hand and their forces by
/// finite differences; the layers against plain Double loops and central finite differences;
/// the model's symmetries; a small SchNet learning generated clusters.
@Suite struct MolecularTests {
    /// One atom a row, `[species | x | y | z]`.
    func rows(_ species: [Int], _ positions: [SIMD3<Double>]) -> Matrix<Double> {
        Matrix(rows: species.count, columns: 4) { i, j in j == 0 ? Double(species[i]) : positions[i][j - 1] }
    }

    @Test func lennardJonesEnergiesByHandAndForcesByFiniteDifferences() throws {
        // A pair at r = 2^(1/6)·σ sits at the minimum −ε; at r = σ the energy is 0.
        let minimum = pow(2, 1.0 / 6)
        #expect(abs(LennardJonesClusters.pairEnergy(0, 0, distance: minimum) + 1) < 1e-14)
        #expect(abs(LennardJonesClusters.pairEnergy(0, 1, distance: 0.8 * minimum) + 1.5) < 1e-14)
        #expect(abs(LennardJonesClusters.pairEnergy(1, 1, distance: 0.88)) < 1e-14)
        var generator = SeededGenerator(seed: 701)
        let species = [0, 1, 0, 0, 1]
        let positions = (0..<5).map { i in SIMD3(Double(i) * 1.1, Double.random(in: -0.3...0.3, using: &generator), Double.random(in: -0.3...0.3, using: &generator)) }
        let (energy, forces) = LennardJonesClusters.energyAndForces(species: species, positions: positions)
        let h = 1e-6
        for i in 0..<5 {
            for axis in 0..<3 {
                var (plus, minus) = (positions, positions)
                plus[i][axis] += h
                minus[i][axis] -= h
                let numeric = -(LennardJonesClusters.energyAndForces(species: species, positions: plus).energy
                    - LennardJonesClusters.energyAndForces(species: species, positions: minus).energy) / (2 * h)
                #expect(abs(numeric - forces[i][axis]) < 1e-6 * max(1, abs(numeric)))
            }
        }
        #expect(energy.isFinite)
    }

    /// The generated sets: counts and shapes, the same for the same seed, minima where the
    /// forces vanish, test shapes apart from the training ones.
    @Test func generatedClustersAreSeededRelaxedAndSplitByMinimum() throws {
        let make = { () throws -> (train: MoleculeSet, test: MoleculeSet) in
            try LennardJonesClusters.generate(atoms: 6, minima: 4, trainMinima: 3, samples: 10, seed: 5)
        }
        let (train, test) = try make()
        #expect(train.count == 30 && test.count == 10 && train.atomRows.shape == Shape(180, 4))
        #expect(try make().train.atomRows == train.atomRows && make().test.energies == test.energies)
        var generator = SeededGenerator(seed: 9)
        let found = LennardJonesClusters.minimum(atoms: 8, using: &generator)
        let forces = LennardJonesClusters.energyAndForces(species: found.species, positions: found.positions).forces
        #expect(forces.map { ($0 * $0).sum().squareRoot() }.max()! < 1e-5)
        #expect(train.energies.allSatisfy { $0 < 0 } && test.energies.allSatisfy { $0 < 0 })
        #expect(throws: NGError.self) { try LennardJonesClusters.generate(atoms: 6, minima: 3, trainMinima: 3, seed: 1) }
    }

    @Test func shiftedSoftplusAndAtomPoolingMatchReferences() throws {
        var generator = SeededGenerator(seed: 702)
        let ssp = ShiftedSoftplus<Double>()
        let x = Matrix<Double>.random(rows: 3, columns: 4, scale: 30, using: &generator)
        let y = try ssp.forward(x)
        for i in 0..<3 { for j in 0..<4 { #expect(abs(y[i, j] - (log1p(exp(x[i, j])) - log(2))) < 1e-12 * max(1, abs(y[i, j]))) } }
        #expect(abs(try ssp.forward(Matrix(rows: 1, columns: 1))[0, 0]) < 2e-14)   // the series cut after 13 terms
        // Float against Double over −90…90 (eˣ overflows Float near 88.7; the kernel never
        // forms it): within 4·10⁻⁷ of max(1, |y|), the derivative within 2·10⁻⁷.
        let floatLayer = ShiftedSoftplus<Float>()
        let grid = Matrix<Float>(rows: 1, columns: 1801) { _, j in Float(j - 900) / 10 }
        let floatY = try floatLayer.forward(grid)
        let floatDx = try floatLayer.backward(Matrix(rows: 1, columns: 1801, repeating: 1))
        for j in 0..<1801 {
            let v = Double(grid[0, j])
            let exact = max(v, 0) + log1p(exp(-abs(v))) - log(2)
            #expect(abs(Double(floatY[0, j]) - exact) < 4e-7 * max(1, abs(exact)), "x = \(v)")
            #expect(abs(Double(floatDx[0, j]) - 1 / (1 + exp(-v))) < 2e-7, "x = \(v)")
        }
        let small = Matrix<Double>.random(rows: 3, columns: 4, using: &generator)
        let g = Matrix<Double>.random(rows: 3, columns: 4, using: &generator)
        _ = try ssp.forward(small)
        let dx = try ssp.backward(g)
        #expect(try finiteDifferenceError(input: small, upstream: g, forward: { try ssp.forward($0) }, analytic: dx) < 1e-8)

        let pooling = try AtomPooling<Double>(atoms: 3)
        let atomsIn = Matrix<Double>.random(rows: 6, columns: 2, using: &generator)
        let mean = try pooling.forward(atomsIn)
        #expect(abs(mean[1, 0] - (atomsIn[3, 0] + atomsIn[4, 0] + atomsIn[5, 0]) / 3) < 1e-15)
        let up = Matrix<Double>.random(rows: 2, columns: 2, using: &generator)
        let back = try pooling.backward(up)
        #expect(try finiteDifferenceError(input: atomsIn, upstream: up, forward: { try pooling.forward($0) }, analytic: back) < 1e-9)
        #expect(throws: NGError.self) { try pooling.forward(Matrix(rows: 5, columns: 2)) }
    }

    /// One block, width 3, 4 centers, two molecules of 3 atoms: the output against plain
    /// loops of the definition, and every parameter's gradient against finite differences.
    @Test func interactionsMatchPlainLoopsAndFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 703)
        let layer = try SchNetInteractions<Double>(species: 2, atoms: 3, width: 3, blocks: 1, centers: 4, cutoff: 2.0, using: &generator)
        let x = Matrix<Double>(rows: 6, columns: 4) { i, j in j == 0 ? Double(i % 2) : Double.random(in: -0.8...0.8, using: &generator) }
        let z = try layer.forward(x)
        // The reference, with each sublayer's W̃ = [W | b].
        func dense(_ index: Int, _ input: [Double]) -> [Double] {
            let w = (layer.sublayers[index] as! any TrainableLayer<Double>).weight
            return (0..<w.rows).map { o in w[o, input.count] + input.indices.reduce(0.0) { $0 + w[o, $1] * input[$1] } }
        }
        func ssp(_ v: [Double]) -> [Double] { v.map { log1p(exp($0)) - log(2) } }
        let table = (layer.sublayers[0] as! TokenEmbedding<Double>).weight
        for m in 0..<2 {
            let atomsX = (0..<3).map { i in (0..<3).map { table[Int(x[m * 3 + i, 0]), $0] } }
            let h = atomsX.map { dense(4, $0) }
            for i in 0..<3 {
                var message = [Double](repeating: 0, count: 3)
                for j in 0..<3 where j != i {
                    let r = (1...3).reduce(0.0) { $0 + pow(x[m * 3 + i, $1] - x[m * 3 + j, $1], 2) }.squareRoot()
                    let basis = (0..<4).map { k in exp(-layer.gamma * pow(r - Double(k) * 2 / 3, 2)) }
                    let c = r < 2 ? (cos(Double.pi * r / 2) + 1) / 2 : 0
                    let w = dense(3, ssp(dense(1, basis)))
                    for f in 0..<3 { message[f] += c * w[f] * h[j][f] / 2 }   // the mean over 2 neighbors
                }
                let v = dense(7, ssp(dense(5, message)))
                for f in 0..<3 { #expect(abs(z[m * 3 + i, f] - (atomsX[i][f] + v[f])) < 1e-12) }
            }
        }
        let g = Matrix<Double>.random(rows: 6, columns: 3, using: &generator)
        _ = try layer.forward(x)
        #expect(try layer.backward(g).isEmpty)
        let trainable = layer.sublayers.compactMap { $0 as? any TrainableLayer<Double> }
        let errors = try containedParameterErrors(trainable, upstream: g) { try layer.forward(x) }
        #expect(errors.allSatisfy { $0 < 1e-6 }, "\(errors)")
        #expect(throws: NGError.self) { try layer.forward(Matrix(rows: 5, columns: 4)) }
        #expect(throws: NGError.self) { try layer.forward(Matrix(rows: 6, columns: 3)) }
    }

    /// The energy does not change when a molecule is rotated, moved or its atoms renumbered.
    @Test func theModelIsInvariantToRotationTranslationAndOrder() throws {
        let model = try Model<Double>.schnet(atoms: 4, width: 8, blocks: 2, centers: 6, seed: 4)
        var generator = SeededGenerator(seed: 704)
        let species = [0, 1, 0, 0]
        let positions = (0..<4).map { _ in SIMD3((0..<3).map { _ in Double.random(in: -1...1, using: &generator) }) }
        let energy = try model.forward(rows(species, positions))[0, 0]
        let (c, s) = (cos(0.7), sin(0.7))
        let moved = positions.map { p in SIMD3(c * p.x - s * p.y + 0.3, s * p.x + c * p.y - 1.2, p.z + 2) }
        #expect(abs(try model.forward(rows(species, moved))[0, 0] - energy) < 1e-12)
        let order = [2, 0, 3, 1]
        #expect(abs(try model.forward(rows(order.map { species[$0] }, order.map { positions[$0] }))[0, 0] - energy) < 1e-12)
    }

    /// A small SchNet learns generated clusters of 5 atoms around 2 minima (320 training
    /// molecules, 80 held out, new displacements of the same minima): in 15 epochs its training
    /// loss falls below half the energies' variance and its test error per atom below 0.7 of the
    /// error of predicting the training mean, with Adam and with NG+.
    @Test(arguments: ["adam", "ngplus"])
    func aSmallSchNetLearnsGeneratedClusters(optimizer name: String) throws {
        let clusters = try LennardJonesClusters.generate(atoms: 5, minima: 3, trainMinima: 2, samples: 200, seed: 21).train
        let (train, test) = (clusters.subset((0..<400).filter { $0 % 5 != 0 }), clusters.subset((0..<400).filter { $0 % 5 == 0 }))
        let model = try Model<Float>.schnet(atoms: 5, width: 32, blocks: 2, centers: 16, seed: 2)
        let trainer = try MoleculeTrainer(molecules: 16, seed: 3)
        let records: [MoleculeRecord]
        if name == "adam" {
            var optimizer = try AdamOptimizer<Float>(settings: AdamSettings(learningRate: 1e-2))
            try model.register(with: &optimizer)
            records = try trainer.train(model, optimizer: &optimizer, name: name, train: train, test: test, epochs: 15)
        } else {
            var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                sgd: SGDSettings(learningRate: 0.05, momentum: 0.9), damping: 1, side: .right, batchSize: 16))
            try model.register(with: &optimizer)
            records = try trainer.train(model, optimizer: &optimizer, name: name, train: train, test: test, epochs: 15)
        }
        let scale = MoleculeTrainer.scale(of: train)
        let baseline = test.energies.reduce(0.0) { $0 + abs($1 / 5 - scale.mean) } / Double(test.count)
        // Written with: NG+ 0.25 and 0.044, Adam 0.22 and 0.041, against a baseline of 0.094.
        #expect(records.last!.trainLoss < 0.5, "\(name): \(records.map(\.trainLoss))")
        #expect(records.map(\.testMAE).min()! < 0.7 * baseline, "\(name): \(records.map(\.testMAE)) against \(baseline)")
    }

    /// `until` ends a run at the first epoch whose record meets it.
    @Test func aRunStopsAtTheFirstEpochThatMeetsItsCondition() throws {
        let train = try LennardJonesClusters.generate(atoms: 4, minima: 2, trainMinima: 1, samples: 40, seed: 5).train
        let model = try Model<Float>.schnet(atoms: 4, width: 8, blocks: 1, centers: 8, seed: 2)
        var optimizer = try AdamOptimizer<Float>(settings: AdamSettings(learningRate: 1e-2))
        try model.register(with: &optimizer)
        let records = try MoleculeTrainer(molecules: 8, seed: 3).train(
            model, optimizer: &optimizer, name: "adam", train: train, test: train, epochs: 4, until: { $0.epoch == 2 })
        #expect(records.map(\.epoch) == [1, 2])
    }

    /// Validating twice an epoch: each epoch's last record is the once-an-epoch run's.
    @Test func validatingMoreOftenChangesOnlyHowOftenTheRunIsMeasured() throws {
        let train = try LennardJonesClusters.generate(atoms: 4, minima: 2, trainMinima: 1, samples: 40, seed: 5).train
        func run(_ validation: ValidationSchedule) throws -> [MoleculeRecord] {
            let model = try Model<Float>.schnet(atoms: 4, width: 8, blocks: 1, centers: 8, seed: 2)
            var optimizer = try AdamOptimizer<Float>(settings: AdamSettings(learningRate: 1e-2))
            try model.register(with: &optimizer)
            return try MoleculeTrainer(molecules: 8, seed: 3, validation: validation).train(
                model, optimizer: &optimizer, name: "adam", train: train, test: train, epochs: 2)
        }
        let (once, twice) = (try run(.everyEpoch), try run(try ValidationSchedule(perEpoch: 2)))
        let steps = train.count / 8
        #expect(once.map(\.steps) == [steps, 2 * steps])
        let half = (steps + 1) / 2  // ⌈steps/2⌉: the first step where ⌊step·2/steps⌋ reaches 1
        #expect(twice.map(\.steps) == [half, steps, steps + half, 2 * steps])
        #expect([twice[1].testMAE, twice[3].testMAE] == once.map(\.testMAE))
    }

    /// A process trains on whole molecules of every batch: rows that split a molecule, or reach
    /// past the batch, are refused before any step; whole molecules train.
    @Test func aProcessShareOfWholeMoleculesTrainsAndAnyOtherIsRefused() throws {
        let train = try LennardJonesClusters.generate(atoms: 4, minima: 2, trainMinima: 1, samples: 40, seed: 5).train
        let model = try Model<Float>.schnet(atoms: 4, width: 8, blocks: 1, centers: 8, seed: 2)
        var share = ShareOfBatch(try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.01)), localRows: 0..<0)
        try model.register(with: &share)
        let trainer = try MoleculeTrainer(molecules: 8, seed: 3)
        let weights = model.trainableLayers.map { $0.weight }
        for rows in [1..<9, 4..<10, 28..<36] {
            share.localRows = rows
            #expect(throws: NGError.self, "\(rows)") {
                try trainer.train(model, synchronizing: &share, name: "sgd", train: train, test: train, epochs: 1)
            }
        }
        #expect(model.trainableLayers.map { $0.weight } == weights)
        share.localRows = 8..<16
        let records = try trainer.train(model, synchronizing: &share, name: "sgd", train: train, test: train, epochs: 1)
        #expect(records.count == 1 && records[0].trainLoss.isFinite)
        #expect(model.trainableLayers.map { $0.weight } != weights)
    }
}

/// The radial basis holds no value whose products could be subnormal: one below its floor
/// (√ of Float's smallest normal number) is 0, every other is `exp(−γ·(r − μ_k)²)` within the
/// exponential's bound.
@Suite struct PairBasisTests {
    @Test func basisValuesAreZeroOrAboveTheFloor() {
        let (centers, cutoff, molecules) = (25, Float(2.5), 60)
        let spacing = Double(cutoff) / Double(centers - 1)
        let gamma = Float(0.5 / (spacing * spacing))
        // Molecules of two atoms, r = 0.04·(m + 1) apart along x: two pairs each.
        var atoms = [Float](repeating: 0, count: molecules * 2 * 4)
        for m in 0..<molecules { atoms[(m * 2 + 1) * 4 + 1] = 0.04 * Float(m + 1) }
        var basis = [Float](repeating: .nan, count: molecules * 2 * centers)
        var envelope = [Float](repeating: .nan, count: molecules * 2)
        NetworkKernels.pairBasis(
            atoms, molecules: molecules, atoms: 2, centers: centers, cutoff: cutoff, gamma: gamma, into: &basis,
            envelope: &envelope)
        let floor = NetworkKernels.basisFloor(Float.self)
        #expect(floor == 0x1p-63)
        var (flushedSubnormal, flushedNormal) = (0, 0)
        for p in 0..<molecules * 2 {
            let r = 0.04 * Float(p / 2 + 1)
            for k in 0..<centers {
                let value = basis[p * centers + k]
                #expect(value == 0 || value >= floor, "pair \(p), center \(k): \(value)")
                // The distance, √(x²) in Float, is within an ulp of x.
                let want = GaussianBasisReference(
                    distance: r, center: k, spacing: Float(spacing), gamma: gamma, distanceError: Double(r.ulp))
                let (reference, tolerance) = (want.value, want.relativeBound)
                if reference < Double(floor) * (1 - tolerance) {
                    #expect(value == 0, "pair \(p), center \(k): \(value) for \(reference)")
                    if reference >= Double(Float.leastNormalMagnitude) {
                        flushedNormal += 1
                    } else if reference >= Double(Float.leastNonzeroMagnitude) {
                        flushedSubnormal += 1
                    }
                } else if reference > Double(floor) * (1 + tolerance) {
                    #expect(abs(Double(value) - reference) <= tolerance * reference, "pair \(p), center \(k)")
                }
            }
        }
        // The distances put some exponentials in the subnormal range and some between the
        // smallest normal number and the floor, which the basis flushed.
        #expect(flushedSubnormal > 0 && flushedNormal > 0)
    }
}
