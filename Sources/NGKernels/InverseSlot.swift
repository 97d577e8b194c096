/// Which of an inverse's two results an unchecked apply reads: the one in use, or the one a
/// `stageRefresh` computed aside and no commit has put in use yet. A step applies the staged
/// inverse, checks its result, and only then commits.
@usableFromInline package enum InverseSlot: Sendable {
    case current
    case staged
}
