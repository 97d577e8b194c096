import CMPI
import Foundation
import NGPlus

/// The processes of an MPI run (`MPI_COMM_WORLD`): this process's rank, their number, and the
/// collectives data-parallel training uses, each in place on caller-owned storage (no copy and
/// no allocation on the Swift side; Open MPI allocates its own buffers in some collectives).
/// MPI errors come back as `DistributedError.mpiFailure`, not as an abort.
///
/// Ending a run: call `finalize()` once every process is done. A process that fails should
/// end with `abort(code:)` (or simply exit without `finalize()`): `mpirun` then ends every
/// process within about a second and a half instead of letting them wait in a collective.
public struct Communicator: Sendable {
    /// This process's rank, 0..<size.
    public let rank: Int
    /// The number of processes.
    public let size: Int

    /// The world of this MPI run, initialising MPI on the first call (a program started without
    /// `mpirun` is a world of one).
    /// - Throws: `DistributedError.mpiFailure` when MPI cannot start.
    public static func world() throws(DistributedError) -> Communicator {
        let operation = NGError.Operation.communicatorWorld
        var initialized: Int32 = 0
        try check(MPI_Initialized(&initialized), "MPI_Initialized", operation)
        if initialized == 0 { try check(MPI_Init(nil, nil), "MPI_Init", operation) }
        try check(MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()), "MPI_Comm_set_errhandler", operation)
        var rank: Int32 = 0
        var size: Int32 = 0
        try check(MPI_Comm_rank(cmpi_comm_world(), &rank), "MPI_Comm_rank", operation)
        try check(MPI_Comm_size(cmpi_comm_world(), &size), "MPI_Comm_size", operation)
        return Communicator(rank: Int(rank), size: Int(size))
    }

    /// True when an MPI launcher started this process (Open MPI's `mpirun` or a PMIx launcher):
    /// what `ngbench` checks before it joins a world.
    public static var isLaunched: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// Every process's rows of a global batch of `globalBatch` rows, in rank order, as
    /// `DataParallel` splits it: whole samples of `rowsPerSample` rows, the first processes one
    /// sample more when the samples do not divide evenly.
    public func rowShares(globalBatch: Int, rowsPerSample: Int = 1) -> [Int] {
        let (quotient, remainder) = (globalBatch / rowsPerSample).quotientAndRemainder(dividingBy: size)
        return (0..<size).map { (quotient + ($0 < remainder ? 1 : 0)) * rowsPerSample }
    }

    /// Every process's `buffer` replaced by the element-wise sum over the processes, in place.
    public func allReduceSum<Scalar: BLASScalar>(_ buffer: inout MutableSpan<Scalar>) throws(DistributedError) {
        let operation = NGError.Operation.communicatorAllReduce
        guard !buffer.isEmpty else { return }
        let count = try Self.count(buffer.count, operation)
        let code = buffer.withUnsafeMutableBufferPointer { buffer in
            MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, count, Self.datatype(Scalar.self), cmpi_sum(), cmpi_comm_world())
        }
        try Self.check(code, "MPI_Allreduce", operation)
    }

    /// Every process's `values` replaced by the element-wise sum over the processes.
    public func allReduceSum<Scalar: BLASScalar>(_ values: inout [Scalar]) throws(DistributedError) {
        var span = values.mutableSpan
        try allReduceSum(&span)
    }

    /// Gathers every process's block into every process's `buffer`, in rank order, in place:
    /// process r's `counts[r]` values start at the sum of the counts before it, and each process
    /// has written its own block there before the call.
    public func allGather<Scalar: BLASScalar>(
        _ buffer: inout MutableSpan<Scalar>, counts: Span<Int32>, displacements: Span<Int32>
    ) throws(DistributedError) {
        try buffer.withUnsafeMutableBytes { (buffer) throws(DistributedError) in
            try allGather(buffer, Self.datatype(Scalar.self), counts, displacements)
        }
    }

    /// The same for 64-bit integers (an embedding table's lookups).
    public func allGather(
        _ buffer: inout MutableSpan<Int64>, counts: Span<Int32>, displacements: Span<Int32>
    ) throws(DistributedError) {
        try buffer.withUnsafeMutableBytes { (buffer) throws(DistributedError) in
            try allGather(buffer, cmpi_int64(), counts, displacements)
        }
    }

    func allGather(
        _ buffer: UnsafeMutableRawBufferPointer, _ type: MPI_Datatype, _ counts: Span<Int32>,
        _ displacements: Span<Int32>
    ) throws(DistributedError) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        let code = counts.withUnsafeBufferPointer { counts in
            displacements.withUnsafeBufferPointer { displacements in
                MPI_Allgatherv(
                    cmpi_in_place(), 0, type, base, counts.baseAddress, displacements.baseAddress, type, cmpi_comm_world())
            }
        }
        try Self.check(code, "MPI_Allgatherv", .communicatorAllGather)
    }

    /// `buffer` of process `root` copied into every process's `buffer`.
    public func broadcast<Scalar: BLASScalar>(_ buffer: inout MutableSpan<Scalar>, root: Int) throws(DistributedError) {
        let operation = NGError.Operation.communicatorBroadcast
        guard !buffer.isEmpty else { return }
        let count = try Self.count(buffer.count, operation)
        let code = buffer.withUnsafeMutableBufferPointer { buffer in
            MPI_Bcast(buffer.baseAddress, count, Self.datatype(Scalar.self), Int32(root), cmpi_comm_world())
        }
        try Self.check(code, "MPI_Bcast", operation)
    }

    /// The element-wise maximum of `values` over the processes, in place.
    public func allReduceMax(_ values: inout [Int64]) throws(DistributedError) {
        let operation = NGError.Operation.communicatorAllReduce
        let count = try Self.count(values.count, operation)
        let code = values.withUnsafeMutableBufferPointer { p in
            MPI_Allreduce(cmpi_in_place(), p.baseAddress, count, cmpi_int64(), cmpi_max(), cmpi_comm_world())
        }
        try Self.check(code, "MPI_Allreduce", operation)
    }

    /// Ends MPI in this process once every process is done with it (a collective: every
    /// process calls it).
    public func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Ends every process of the run with exit status `code`, at once.
    public func abort(code: Int32) -> Never {
        MPI_Abort(cmpi_comm_world(), code)
        exit(code)
    }

    static func datatype<Scalar: BLASScalar>(_: Scalar.Type) -> MPI_Datatype {
        Scalar.self == Double.self ? cmpi_double() : cmpi_float()
    }

    static func count(_ count: Int, _ operation: NGError.Operation) throws(DistributedError) -> Int32 {
        guard let narrow = Int32(exactly: count) else {
            throw .mpiFailure(operation: operation, call: "count", code: -1, message: "\(count) values exceed Int32.max")
        }
        return narrow
    }

    static func check(_ code: Int32, _ call: String, _ operation: NGError.Operation) throws(DistributedError) {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw .mpiFailure(operation: operation, call: call, code: code, message: message)
    }
}
