/// The operations of the kernels, as their errors name them.
extension NGError.Operation {
    /// `BLAS.axpy`
    public static let blasAxpy = Self("BLAS.axpy")
    /// `BLAS.gemm`
    public static let blasGemm = Self("BLAS.gemm")
    /// `BLAS.symm`
    public static let blasSymm = Self("BLAS.symm")
    /// `BLAS.syrk`
    public static let blasSyrk = Self("BLAS.syrk")
    /// `BlockDiagonalMatrix.assign`
    public static let blockDiagonalMatrixAssign = Self("BlockDiagonalMatrix.assign")
    /// `BlockDiagonalMatrix.init`
    public static let blockDiagonalMatrixInit = Self("BlockDiagonalMatrix.init")
    /// `Conv2dGFIMBuilder.accumulate`
    public static let conv2dGFIMBuilderAccumulate = Self("Conv2dGFIMBuilder.accumulate")
    /// `Conv2dGFIMBuilder.init`
    public static let conv2dGFIMBuilderInit = Self("Conv2dGFIMBuilder.init")
    /// `ConvGeometry.init`
    public static let convGeometryInit = Self("ConvGeometry.init")
    /// `ConvGeometry.unfold`
    public static let convGeometryUnfold = Self("ConvGeometry.unfold")
    /// `DampedInverse.apply`
    public static let dampedInverseApply = Self("DampedInverse.apply")
    /// `DampedInverse.applyRight`
    public static let dampedInverseApplyRight = Self("DampedInverse.applyRight")
    /// `DampedInverse.init`
    public static let dampedInverseInit = Self("DampedInverse.init")
    /// `DampedInverse.refresh`
    public static let dampedInverseRefresh = Self("DampedInverse.refresh")
    /// `DenseGradient.weightGradient`
    public static let denseGradientWeightGradient = Self("DenseGradient.weightGradient")
    /// `GFIM.miniBatch`
    public static let gfimMiniBatch = Self("GFIM.miniBatch")
    /// `GFIM.runningAverage`
    public static let gfimRunningAverage = Self("GFIM.runningAverage")
    /// `KFACFactorBuilder.accumulate`
    public static let kfacFactorBuilderAccumulate = Self("KFACFactorBuilder.accumulate")
    /// `KFACFactorBuilder.init`
    public static let kfacFactorBuilderInit = Self("KFACFactorBuilder.init")
    /// `LinearGFIMBuilder.accumulate`
    public static let linearGFIMBuilderAccumulate = Self("LinearGFIMBuilder.accumulate")
    /// `LinearGFIMBuilder.init`
    public static let linearGFIMBuilderInit = Self("LinearGFIMBuilder.init")
    /// `LinearGFIMBuilder.prepareFactor`
    public static let linearGFIMBuilderPrepareFactor = Self("LinearGFIMBuilder.prepareFactor")
    /// `Matrix.init`
    public static let matrixInit = Self("Matrix.init")
    /// `SymmetricEigen.decompose`
    public static let symmetricEigenDecompose = Self("SymmetricEigen.decompose")
    /// `WoodburyInverse.apply`
    public static let woodburyInverseApply = Self("WoodburyInverse.apply")
    /// `WoodburyInverse.applyRight`
    public static let woodburyInverseApplyRight = Self("WoodburyInverse.applyRight")
    /// `WoodburyInverse.init`
    public static let woodburyInverseInit = Self("WoodburyInverse.init")
    /// `WoodburyInverse.refresh`
    public static let woodburyInverseRefresh = Self("WoodburyInverse.refresh")
}
