/// How grey-level pixels in [0, 1] are turned into the binary observations a Bernoulli decoder models.
///
/// - `none`: keep grey levels (a Bernoulli likelihood on continuous targets; or data that is
///   already binary, such as the static binarized MNIST).
/// - `threshold`: fixed binarization, `x > 0.5 ? 1 : 0`; deterministic, same every epoch.
/// - `dynamic`: resample `x ~ Bernoulli(pixel)` on every pass (the usual "dynamically binarized
///   MNIST"); acts as data augmentation and gives different log-likelihoods than a fixed set.
///
/// The uniforms for `dynamic` are supplied by the caller, so the caller's seeded RNG alone
/// decides the draw and runs are reproducible.
public enum Binarization: String, Codable, Sendable, CaseIterable {
    case none
    case dynamic
    case threshold

    /// Cut-off for `threshold`.
    public static let thresholdLevel: Float = 0.5

    /// Whether `apply` needs a buffer of uniforms.
    public var needsUniforms: Bool { self == .dynamic }

    /// Binarizes `x` in place. For `.dynamic`, `uniforms` must hold `x.count` values in [0, 1);
    /// pixel `i` becomes 1 iff `uniforms[i] < x[i]` (so 0 stays 0 and 1 stays 1).
    public func apply(_ x: UnsafeMutableBufferPointer<Float>, uniforms: UnsafeBufferPointer<Float>? = nil) {
        switch self {
        case .none:
            return
        case .threshold:
            let t = Binarization.thresholdLevel
            for i in x.indices { x[i] = x[i] > t ? 1 : 0 }
        case .dynamic:
            guard let u = uniforms else { preconditionFailure("dynamic binarization needs uniforms") }
            precondition(u.count == x.count, "uniforms (\(u.count)) must match the batch size (\(x.count))")
            for i in x.indices { x[i] = u[i] < x[i] ? 1 : 0 }
        }
    }

    /// Array convenience for `apply(_:uniforms:)`.
    public func apply(to x: inout [Float], uniforms: [Float]? = nil) {
        guard self != .none else { return }
        x.withUnsafeMutableBufferPointer { xb in
            if let uniforms {
                uniforms.withUnsafeBufferPointer { ub in apply(xb, uniforms: ub) }
            } else {
                apply(xb, uniforms: nil)
            }
        }
    }

    /// Variant for callers whose RNG fills a buffer: `fillUniforms` receives a scratch array
    /// of `x.count` elements to fill with U[0, 1) draws. Not called unless `self == .dynamic`.
    public func apply(to x: inout [Float], fillUniforms: (inout [Float]) -> Void) {
        guard self == .dynamic else { apply(to: &x, uniforms: nil); return }
        var u = [Float](repeating: 0, count: x.count)
        fillUniforms(&u)
        precondition(u.count == x.count, "fillUniforms must not change the buffer length")
        apply(to: &x, uniforms: u)
    }
}
