/// Sums over every process of a training step, for a layer whose forward or backward pass reads
/// the whole batch (batch normalization's statistics): each call's `values` come back as their
/// element-wise sums over the processes. `SynchronizedOptimizer.crossProcessSums` hands one out;
/// on one process there is none and the layer sums its own rows.
///
/// Every process must make the same number of calls in a step, of the same length, or the
/// others wait for ever: the model announces the step's calls (`beginStep`), and a process whose
/// step failed part-way makes the rest with nothing to add (`completeStep`) before it reports
/// the failure through `SynchronizedOptimizer.synchronize`. A failed collective is kept and
/// reported there too, so the calls themselves do not throw.
public protocol CrossProcessSums: AnyObject {
    /// This process's rows over the batch's: the weight of its mean loss in the whole batch's.
    var localShare: Double { get }

    /// The length of every call's values, and the calls a training step makes; set when a model
    /// registers (every process the same).
    func reserve(length: Int, callsPerStep: Int)

    /// `values` (of the reserved length) replaced by their sums over the processes.
    func sum(_ values: inout [Double])

    /// Begins a training step's calls.
    func beginStep()

    /// Makes the step's calls not yet made, adding nothing, after this process's step failed.
    func completeStep()
}
