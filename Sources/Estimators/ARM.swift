import Autodiff
import VAE

/// ARM, augment-REINFORCE-merge (Yin & Zhou 2019, arXiv 1807.11143), for Bernoulli units.
///
/// ĝ_i = (f(b₁) − f(b₂))·(u_i − ½) with the antithetic pair b₁ = 1[u > 1 − σ(a)], b₂ = 1[u < σ(a)];
/// UNBIASED, two evaluations of f. BERNOULLI LATENTS ONLY (the registry rejects categorical configs).
/// The pair and the estimate are shared with DisARM (`AntitheticPairEstimator`, DisARM.swift), which
/// integrates u out per unit.
///
/// No options.
public final class ARM<S: TensorScalar>: AntitheticPairEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "arm" }
    public static var summary: String { "augment-REINFORCE-merge, antithetic pair (Bernoulli only, unbiased)" }
    public static var families: Set<LatentFamily> { [.bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> ARM {
        ARM()
    }

    public init() {}

    /// ĝ_i = (f(b₁) − f(b₂))·(u_i − ½).
    public static func logitGradient(logits: Tensor<S>, uniforms u: Tensor<S>, f1: Tensor<S>, f2: Tensor<S>) -> Tensor<S> {
        ScoreFunction.perExample(f1 - f2, like: logits.shape) * (u - 0.5)
    }
}
