/// Which side of a gradient a GFIM acts on: `left`, `F = E[dW·dWᵀ]` (m × m) and
/// `D = F̂⁻¹·G`; `right`, `F_R = E[dWᵀ·dW]` (n × n) and `D = G·F̂_R⁻¹`.
public enum Side: String, Sendable, Codable, CaseIterable {
    case left
    case right
}
