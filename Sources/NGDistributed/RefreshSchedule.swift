import NGPlus

/// The refreshes due in one step of a data-parallel run and who makes them: each goes to an
/// owner, the largest first to the process with the fewest flops so far (the lowest rank on a
/// tie) — the same on every process — and the broadcast buffers are laid out process after
/// process, each owner's records in slot order, one status figure per process at the end of
/// the figures. Its arrays keep their storage from step to step: planning allocates nothing
/// once they have grown to the number of layers.
struct RefreshSchedule {
    /// Per due refresh: the layer's slot, what it sends, its owner.
    private(set) var slots: [Int] = []
    private(set) var refreshes: [SharedRefresh] = []
    private(set) var owners: [Int] = []
    /// Per process (and one past the last): where its records start.
    private(set) var valueStart: [Int] = []
    private(set) var figureStart: [Int] = []
    private var load: [Double] = []
    private var assigned: [Bool] = []

    var isEmpty: Bool { slots.isEmpty }
    /// Where the processes' status figures start.
    var statusStart: Int { figureStart.last ?? 0 }

    /// Plans the refreshes `due(slot)` reports among `slotCount` layers over `processes`.
    mutating func plan(slotCount: Int, processes: Int, due: (Int) -> SharedRefresh?) {
        slots.removeAll(keepingCapacity: true)
        refreshes.removeAll(keepingCapacity: true)
        for slot in 0..<slotCount {
            if let refresh = due(slot) {
                slots.append(slot)
                refreshes.append(refresh)
            }
        }
        owners.removeAll(keepingCapacity: true)
        assigned.removeAll(keepingCapacity: true)
        for _ in slots.indices {
            owners.append(0)
            assigned.append(false)
        }
        load.removeAll(keepingCapacity: true)
        for _ in 0..<processes { load.append(0) }
        for _ in slots.indices {
            var largest = -1
            for d in slots.indices where !assigned[d] && (largest < 0 || refreshes[d].flops > refreshes[largest].flops) {
                largest = d
            }
            var lightest = 0
            for p in 0..<processes where load[p] < load[lightest] { lightest = p }
            owners[largest] = lightest
            assigned[largest] = true
            load[lightest] += refreshes[largest].flops
        }
        valueStart.removeAll(keepingCapacity: true)
        figureStart.removeAll(keepingCapacity: true)
        valueStart.append(0)
        figureStart.append(0)
        for root in 0..<processes {
            var (values, figures) = (valueStart[root], figureStart[root])
            for d in slots.indices where owners[d] == root {
                values += refreshes[d].values
                figures += refreshes[d].figures
            }
            valueStart.append(values)
            figureStart.append(figures)
        }
    }
}
