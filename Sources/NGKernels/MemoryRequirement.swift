#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a layer or a model will allocate, added up before anything is: sizes a caller chose are
/// checked against this machine's memory so that an impossible one is a typed error rather than
/// an abort in the allocator. Counts are Doubles, so no product of sizes can overflow.
package struct MemoryRequirement {
    /// The bytes of every part, in the order added.
    package private(set) var parts: [(what: String, bytes: Double)] = []

    package init() {}

    /// The total in bytes.
    package var bytes: Double { parts.reduce(0) { $0 + $1.bytes } }

    /// Adds `elements` values of `Scalar`, described as `what`.
    package mutating func add<Scalar>(_ what: String, elements: Double, of _: Scalar.Type) {
        parts.append((what, elements * Double(MemoryLayout<Scalar>.stride)))
    }

    /// Adds every part of `other`, `times` times over.
    package mutating func add(_ other: MemoryRequirement, times: Int = 1) {
        parts += other.parts.map { ($0.what, $0.bytes * Double(times)) }
    }

    /// The requirement of `elements` values of `Scalar`, described as `what`.
    package static func of<Scalar>(_ what: String, elements: Double, _ scalar: Scalar.Type) -> MemoryRequirement {
        var requirement = MemoryRequirement()
        requirement.add(what, elements: elements, of: scalar)
        return requirement
    }

    /// The memory this machine has, in bytes.
    package static var available: Double { Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE))) }

    /// Throws `invalidArgument` (argument `argument`) when the total exceeds this machine's
    /// memory, naming the bytes and the largest part.
    package func check(_ operation: NGError.Operation, argument: String) throws(NGError) {
        let total = bytes
        guard total > Self.available else { return }
        let largest = parts.max { $0.bytes < $1.bytes }
        throw .invalidArgument(
            operation: operation, argument: argument,
            reason: "would need \(Self.describe(total)) (\(largest.map { "\(Self.describe($0.bytes)) of it for \($0.what)" } ?? "")), "
                + "more than this machine's memory of \(Self.describe(Self.available))")
    }

    /// A byte count for people: `4.4 TB (4398046511104 bytes)`.
    package static func describe(_ bytes: Double) -> String {
        let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = bytes
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        let exact = bytes < 1e18 ? " (\(Int(bytes)) bytes)" : ""
        // Beyond exabytes the value is printed as Double prints it (no Int could hold it).
        guard value < 1e15 else { return "\(value) \(units[unit])" }
        let tenths = Int((value * 10).rounded())
        return unit == 0 ? "\(Int(bytes)) bytes" : "\(tenths / 10).\(tenths % 10) \(units[unit])\(exact)"
    }
}
