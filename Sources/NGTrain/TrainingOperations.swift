import NGKernels

/// The operations of the training stack and the data loader, as their errors name them.
extension NGError.Operation {
    /// `AtomPooling.backward`
    public static let atomPoolingBackward = Self("AtomPooling.backward")
    /// `AtomPooling.forward`
    public static let atomPoolingForward = Self("AtomPooling.forward")
    /// `AtomPooling.init`
    public static let atomPoolingInit = Self("AtomPooling.init")
    /// `BatchNorm.backward`
    public static let batchNormBackward = Self("BatchNorm.backward")
    /// `BatchNorm.forward`
    public static let batchNormForward = Self("BatchNorm.forward")
    /// `BatchNorm.init`
    public static let batchNormInit = Self("BatchNorm.init")
    /// `CausalAttention.backward`
    public static let causalAttentionBackward = Self("CausalAttention.backward")
    /// `CausalAttention.forward`
    public static let causalAttentionForward = Self("CausalAttention.forward")
    /// `CausalAttention.init`
    public static let causalAttentionInit = Self("CausalAttention.init")
    /// `ClickLog.generate`
    public static let clickLogGenerate = Self("ClickLog.generate")
    /// `ClickMetrics.evaluate`
    public static let clickMetricsEvaluate = Self("ClickMetrics.evaluate")
    /// `Conv2d.backward`
    public static let conv2dBackward = Self("Conv2d.backward")
    /// `Conv2d.forward`
    public static let conv2dForward = Self("Conv2d.forward")
    /// `Conv2d.init`
    public static let conv2dInit = Self("Conv2d.init")
    /// `Dataset.init`
    public static let datasetInit = Self("Dataset.init")
    /// `Dataset`
    public static let dataset = Self("Dataset")
    /// `Dense.backward`
    public static let denseBackward = Self("Dense.backward")
    /// `Dense.forward`
    public static let denseForward = Self("Dense.forward")
    /// `Dense.init`
    public static let denseInit = Self("Dense.init")
    /// `EmbeddingBag.backward`
    public static let embeddingBagBackward = Self("EmbeddingBag.backward")
    /// `EmbeddingBag.forward`
    public static let embeddingBagForward = Self("EmbeddingBag.forward")
    /// `EmbeddingBag.init`
    public static let embeddingBagInit = Self("EmbeddingBag.init")
    /// `FeatureInteraction.backward`
    public static let featureInteractionBackward = Self("FeatureInteraction.backward")
    /// `FeatureInteraction.forward`
    public static let featureInteractionForward = Self("FeatureInteraction.forward")
    /// `FeatureInteraction.init`
    public static let featureInteractionInit = Self("FeatureInteraction.init")
    /// `GELU.backward`
    public static let geluBackward = Self("GELU.backward")
    /// `GlobalAveragePool.backward`
    public static let globalAveragePoolBackward = Self("GlobalAveragePool.backward")
    /// `GlobalAveragePool.forward`
    public static let globalAveragePoolForward = Self("GlobalAveragePool.forward")
    /// `GlobalAveragePool.init`
    public static let globalAveragePoolInit = Self("GlobalAveragePool.init")
    /// `IDXFile`
    public static let idxFile = Self("IDXFile")
    /// `ImageAugmentation.init`
    public static let imageAugmentationInit = Self("ImageAugmentation.init")
    /// `LayerNorm.backward`
    public static let layerNormBackward = Self("LayerNorm.backward")
    /// `LayerNorm.forward`
    public static let layerNormForward = Self("LayerNorm.forward")
    /// `LayerNorm.init`
    public static let layerNormInit = Self("LayerNorm.init")
    /// `LennardJonesClusters.generate`
    public static let lennardJonesClustersGenerate = Self("LennardJonesClusters.generate")
    /// `MaxPool2x2.backward`
    public static let maxPoolBackward = Self("MaxPool2x2.backward")
    /// `MaxPool2x2.forward`
    public static let maxPoolForward = Self("MaxPool2x2.forward")
    /// `MaxPool2x2.init`
    public static let maxPoolInit = Self("MaxPool2x2.init")
    /// `MeanSquaredError.loss`
    public static let meanSquaredErrorLoss = Self("MeanSquaredError.loss")
    /// `Model.cnn`
    public static let modelCNN = Self("Model.cnn")
    /// `Model.dlrm`
    public static let modelDLRM = Self("Model.dlrm")
    /// `Model.load`
    public static let modelLoad = Self("Model.load")
    /// `Model.mlp`
    public static let modelMLP = Self("Model.mlp")
    /// `Model.resnet`
    public static let modelResNet = Self("Model.resnet")
    /// `Model.restore`
    public static let modelRestore = Self("Model.restore")
    /// `Model.save`
    public static let modelSave = Self("Model.save")
    /// `Model.schnet`
    public static let modelSchNet = Self("Model.schnet")
    /// `Model.transformer`
    public static let modelTransformer = Self("Model.transformer")
    /// `Model.trainStep`
    public static let modelTrainStep = Self("Model.trainStep")
    /// `MoleculeTrainer.init`
    public static let moleculeTrainerInit = Self("MoleculeTrainer.init")
    /// `MoleculeTrainer.train`
    public static let moleculeTrainerTrain = Self("MoleculeTrainer.train")
    /// `PooledConv2d.backward`
    public static let pooledConv2dBackward = Self("PooledConv2d.backward")
    /// `PooledConv2d.forward`
    public static let pooledConv2dForward = Self("PooledConv2d.forward")
    /// `PooledConv2d.init`
    public static let pooledConv2dInit = Self("PooledConv2d.init")
    /// `PositionEmbedding.backward`
    public static let positionEmbeddingBackward = Self("PositionEmbedding.backward")
    /// `PositionEmbedding.forward`
    public static let positionEmbeddingForward = Self("PositionEmbedding.forward")
    /// `PositionEmbedding.init`
    public static let positionEmbeddingInit = Self("PositionEmbedding.init")
    /// `ReLU.backward`
    public static let reluBackward = Self("ReLU.backward")
    /// `Residual.backward`
    public static let residualBackward = Self("Residual.backward")
    /// `Residual.forward`
    public static let residualForward = Self("Residual.forward")
    /// `Residual.init`
    public static let residualInit = Self("Residual.init")
    /// `SchNetInteractions.backward`
    public static let schNetInteractionsBackward = Self("SchNetInteractions.backward")
    /// `SchNetInteractions.forward`
    public static let schNetInteractionsForward = Self("SchNetInteractions.forward")
    /// `SchNetInteractions.init`
    public static let schNetInteractionsInit = Self("SchNetInteractions.init")
    /// `SequenceTrainer.init`
    public static let sequenceTrainerInit = Self("SequenceTrainer.init")
    /// `SequenceTrainer.train`
    public static let sequenceTrainerTrain = Self("SequenceTrainer.train")
    /// `SequenceTrainer.validationBitsPerByte`
    public static let sequenceTrainerValidation = Self("SequenceTrainer.validationBitsPerByte")
    /// `ShiftedSoftplus.backward`
    public static let shiftedSoftplusBackward = Self("ShiftedSoftplus.backward")
    /// `SoftmaxCrossEntropy.loss`
    public static let softmaxCrossEntropyLoss = Self("SoftmaxCrossEntropy.loss")
    /// `TextCorpus`
    public static let textCorpus = Self("TextCorpus")
    /// `TokenEmbedding.backward`
    public static let tokenEmbeddingBackward = Self("TokenEmbedding.backward")
    /// `TokenEmbedding.forward`
    public static let tokenEmbeddingForward = Self("TokenEmbedding.forward")
    /// `TokenEmbedding.init`
    public static let tokenEmbeddingInit = Self("TokenEmbedding.init")
    /// `Trainer.init`
    public static let trainerInit = Self("Trainer.init")
    /// `Trainer.train`
    public static let trainerTrain = Self("Trainer.train")
    /// `ValidationSchedule.init`
    public static let validationScheduleInit = Self("ValidationSchedule.init")
}
