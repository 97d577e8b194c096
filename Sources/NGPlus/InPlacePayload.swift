/// An enum whose payloads (matrices, factor workspaces) are changed in place. Changing a payload
/// through a `switch` binding would change a second reference to its storage, and copy it; taken
/// out of `self`, the payload is uniquely referenced, and `moving` stands in until it is put back.
protocol InPlacePayload {
    /// The placeholder while a payload is out (a `case moving`); never seen outside `modify`.
    static var moving: Self { get }
}

extension InPlacePayload {
    /// Runs `body` on the payload `take` finds, changed in place and put back with `wrap`, on a
    /// throw too. (`wrap` is a closure, not the case itself: a generic enum case used as a
    /// function value captures its metadata on the heap.)
    /// - Precondition: `take` finds a payload.
    mutating func modify<Payload, Result, Failure: Error>(
        _ take: (consuming Self) -> Payload?, _ wrap: (Payload) -> Self,
        _ body: (inout Payload) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard var payload = take(consume self) else { preconditionFailure("\(Self.self): no such payload, or in use") }
        self = .moving
        defer { self = wrap(payload) }
        return try body(&payload)
    }

    /// `modify` with a second buffer of the caller's, for a body that changes both (a closure
    /// that reached the buffer through its owner would overlap the owner's access to `self`).
    mutating func modify<Payload, Other, Result, Failure: Error>(
        _ take: (consuming Self) -> Payload?, _ wrap: (Payload) -> Self, _ other: inout Other,
        _ body: (inout Payload, inout Other) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try modify(take, wrap) { (payload) throws(Failure) in try body(&payload, &other) }
    }
}
