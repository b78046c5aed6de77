import Autodiff
import Foundation
import VAE

/// Gapped Straight-Through (GST), Fan, Zhang, Mao, Qin, Chen & Sun, ICML 2022, arXiv 2206.07235
/// (`gst_mover` in chijames/GST and LiyuanLucasLiu/ReinMax).
///
/// Estimates ∇θ E_q[f(D)]. BIASED, noise-free surrogate (one f evaluation, no Gumbel noise): a
/// deterministic stand-in for "perturbed logits conditioned on D". With θ̄ = sg(θ), i the sampled
/// class and m = argmax θ̄:
///   θ'_i = θ_i + (θ̄_m − θ̄_i)                      (raise the sampled logit to the maximum)
///   θ'_j = θ_j − max(0, θ̄_j − θ̄_m + gap),  j ≠ i   (push the others at least `gap` below it)
///   forward D, backward through softmax(θ'/τ)        (∇θ ≈ J(softmax(θ'/τ))·g/τ)
/// The offsets are constants (the `detach=True` variant); the reference code's final centring of θ'
/// does not change the softmax and is omitted.
/// `gap`: a number > 0 (GST-1.0 is the default 1.0) or "adaptive" (GST-p): gap = −log(1 − π_i)/π_i with
/// π_i the sampled class's probability, clamped as in the reference code (π_i·(1 − 1e-5), so gap ≤ 11.6)
/// and evaluated as −log1p(−π_i)/π_i (→ 1 as π_i → 0). Categorical only.
///
/// Options: `gap` (default 1.0), `temperature` τ > 0 (default 1.0).
public final class GappedStraightThrough<S: TensorScalar>: StraightThroughEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "gst" }
    public static var summary: String { "gapped straight-through: deterministic gapped logits given D (gap 1.0 or adaptive; biased)" }
    public static var families: Set<LatentFamily> { [.categorical] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> GappedStraightThrough {
        let gap: Gap
        options.declare("gap", default: .number(1), requirement: "must be a number > 0 or \"adaptive\"")
        switch options.values["gap"] {
        case nil: gap = .fixed(1)
        case let .number(value)? where value.isFinite && value > 0: gap = .fixed(value)
        case .string("adaptive")?: gap = .adaptive
        case let other?:
            throw EstimatorError.invalidOption(estimator: name, key: "gap", value: other.description,
                                               requirement: "must be a number > 0 or \"adaptive\"")
        }
        return GappedStraightThrough(gap: gap, temperature: S(try options.temperature(default: 1)))
    }

    public enum Gap: Equatable { case fixed(Double), adaptive }

    public let gap: Gap
    public let temperature: S

    public init(gap: Gap = .fixed(1), temperature: S = 1) {
        precondition(temperature > 0, "temperature must be > 0")
        self.gap = gap
        self.temperature = temperature
    }

    public func surrogate(code: Tensor<S>, logits: Variable<S>, latent: LatentSpec, rng: inout RandomStream) -> Variable<S> {
        gappedSoftmax(logits: logits, code: code)
    }

    /// D forward, softmax(θ'/τ) backward, for a given code (tests replay it).
    public func hardRelaxed(logits: Variable<S>, code: Tensor<S>) -> Variable<S> {
        Variable.straightThrough(value: code, surrogate: gappedSoftmax(logits: logits, code: code))
    }

    /// softmax(θ'/τ): the logits moved by the constant gapped offsets given D.
    func gappedSoftmax(logits: Variable<S>, code: Tensor<S>) -> Variable<S> {
        let moved = logits + Variable(offsets(logits: logits.value, code: code))
        return (temperature == 1 ? moved : moved / temperature).softmax()
    }

    /// The constant logit offsets, row by row over the last axis ([..., C]).
    func offsets(logits: Tensor<S>, code: Tensor<S>) -> Tensor<S> {
        precondition(logits.shape == code.shape, "gst: logits \(logits.shape) vs code \(code.shape)")
        let classes = logits.shape.last!, rows = logits.count / classes
        let gap = self.gap
        return Tensor(shape: logits.shape) { out in
            logits.withUnsafeBufferPointer { theta in
                code.withUnsafeBufferPointer { d in
                    for r in 0..<rows {
                        let base = r * classes
                        var i = 0, m = 0
                        for k in 0..<classes {
                            if d[base + k] > 0.5 { i = k }
                            if theta[base + k] > theta[base + m] { m = k }
                        }
                        let top = Double(theta[base + m])
                        let width: Double
                        switch gap {
                        case let .fixed(value): width = value
                        case .adaptive:
                            var total = 0.0
                            for k in 0..<classes { total += Foundation.exp(Double(theta[base + k]) - top) }
                            let p = Foundation.exp(Double(theta[base + i]) - top) / total * (1 - 1e-5)
                            width = p < 1e-12 ? 1 : -Foundation.log1p(-p) / p
                        }
                        for k in 0..<classes {
                            let t = Double(theta[base + k])
                            out[base + k] = S(k == i ? top - t : -Swift.max(0, t - top + width))
                        }
                    }
                }
            }
        }
    }
}
