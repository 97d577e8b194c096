import NGPlus

extension Model {
    /// SchNet at the size of these machines: `SchNetInteractions` (an embedding of `species`,
    /// `blocks` interaction blocks of `width` features over `centers` radial basis functions up
    /// to `cutoff`), then atom-wise `Dense(width → width/2)`, shifted softplus,
    /// `Dense(width/2 → 1)` and the mean over each molecule's `atoms` atoms: one value a
    /// molecule, its energy per atom (standardized by `MoleculeTrainer`). Input rows are atoms,
    /// `[species | x | y | z]`, a molecule's together.
    /// - Throws: `invalidArgument` for the sizes `SchNetInteractions` refuses.
    public static func schnet(
        species: Int = 2, atoms: Int, width: Int = 64, blocks: Int = 3, centers: Int = 25, cutoff: Double = 2.5,
        seed: UInt64
    ) throws(NGError) -> Model {
        var generator = SeededGenerator(seed: seed)
        let interactions = try SchNetInteractions<Scalar>(
            species: species, atoms: atoms, width: width, blocks: blocks, centers: centers, cutoff: cutoff,
            using: &generator)
        let half = max(width / 2, 1)
        return Model(layers: [
            interactions, try Dense<Scalar>(inputs: width, outputs: half, using: &generator), ShiftedSoftplus<Scalar>(),
            try Dense<Scalar>(inputs: half, outputs: 1, using: &generator), try AtomPooling<Scalar>(atoms: atoms),
        ])
    }
}
