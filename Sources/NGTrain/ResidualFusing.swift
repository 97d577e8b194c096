import NGPlus

/// A layer that can end the layers of a residual connection `y = x + f(x)`: it adds the
/// shortcut's `x` in its own output pass (`Dense` starts its output rows as `x + b` and adds
/// the product to them while they are in cache), where the connection would otherwise add the
/// two branches in a pass of its own. `Residual` uses it when its shortcut is the identity and
/// no ReLU follows the sum.
public protocol ResidualOutputFusing<Scalar>: NetworkLayer {
    /// The width of its output (its rows are its input's).
    var outputs: Int { get }
    /// `forward(x) + residual`, `residual` of the output's shape.
    /// - Throws: `shapeMismatch` for an input or a residual of another shape; nothing is
    ///   changed then.
    func forward(_ x: Matrix<Scalar>, adding residual: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar>
}

/// A layer that can begin the layers of a residual connection: its backward pass adds the
/// shortcut's gradient (the connection's output gradient, for an identity shortcut) into its
/// input gradient while each block of rows is in cache (`LayerNorm`).
public protocol ResidualGradientFusing<Scalar>: NetworkLayer {
    /// `backward(dy) + residual`, `residual` of the input gradient's shape.
    /// - Throws: `shapeMismatch` for a gradient or a residual of another shape; nothing is
    ///   changed then.
    func backward(_ dy: Matrix<Scalar>, adding residual: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar>
}
