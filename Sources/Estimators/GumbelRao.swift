import Autodiff
import VAE

/// Gumbel-Rao Monte Carlo (GR-MCK), Paulus, Maddison & Krause, ICLR 2021, arXiv 2010.04838.
///
/// Estimates ∇θ E_q[f(D)]. BIASED (its mean is ST-GS's mean), with lower variance than ST-GS: it is
/// the Rao-Blackwellisation of ST-GS's surrogate Jacobian given the sample D,
///   ∇θ ≈ (1/K) Σ_k J(y_k)·g(D)/τ,   y_k = softmax((θ + G_k)/τ),   G_k ~ p(G | argmax(θ + G) = D),
/// with the K noises drawn from a DETACHED copy of θ (no gradient through the conditional sampler),
/// as in the GST/ReinMax `rao_gumbel` code and nshepperd's analysis: with detached noise, K = 1 is
/// exactly ST-GS (tested) and K → ∞ gives E[ST-GS | D].
/// Cost: one f evaluation; the K conditional samples and their softmaxes are one fused pass per row
/// (`conditionalGumbelMixture`: linear in K, no K separate graph builds). Categorical only.
///
/// Options: `samples` K ≥ 1 (default 100, `rao_gumbel`'s repeats), `temperature` τ > 0 (default 1.0).
public final class GumbelRao<S: TensorScalar>: StraightThroughEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "gr-mc" }
    public static var summary: String { "Gumbel-Rao MC-K: ST-GS Jacobian averaged over K conditional Gumbels given D (biased)" }
    public static var families: Set<LatentFamily> { [.categorical] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> GumbelRao {
        GumbelRao(samples: try options.integer("samples", default: 100), temperature: S(try options.temperature(default: 1)))
    }

    public let samples: Int
    public let temperature: S

    public init(samples: Int = 100, temperature: S = 1) {
        precondition(samples >= 1 && temperature > 0, "gr-mc needs samples >= 1 and temperature > 0")
        self.samples = samples
        self.temperature = temperature
    }

    /// (1/K) Σ_k softmax((θ + G_k)/τ) over K conditional draws given D.
    public func surrogate(code: Tensor<S>, logits: Variable<S>, latent: LatentSpec, rng: inout RandomStream) -> Variable<S> {
        GumbelRao.conditionalAverage(inputs: logits, noiseLogits: logits.value, code: code, samples: samples,
                                     temperature: temperature, rng: &rng)
    }

    /// (1/K) Σ_k softmax((x + sg(θ̄ + G_k − x))/τ) with G_k ~ p(G | argmax(θ̄ + G) = D) drawn around the noise
    /// logits θ̄, fused (`conditionalGumbelMixture`): the draws are those `conditionalPerturbations` returns
    /// for the same `rng` state, and the result equals `average` on them.
    public static func conditionalAverage(inputs x: Variable<S>, noiseLogits: Tensor<S>, code: Tensor<S>, samples: Int,
                                          temperature: S, rng: inout RandomStream) -> Variable<S> {
        x.conditionalGumbelMixture(noiseLogits: noiseLogits, code: code, weights: [S](repeating: 1 / S(samples), count: samples),
                                   temperature: temperature, rng: &rng)
    }

    /// D forward, (1/K)Σ_k softmax((θ + G_k)/τ) backward, for given perturbed logits θ̄ + G_k (tests replay them).
    public func hardRelaxed(logits: Variable<S>, code: Tensor<S>, perturbed: Tensor<S>) -> Variable<S> {
        Variable.straightThrough(value: code, surrogate: GumbelRao.average(inputs: logits, perturbed: perturbed,
                                                                         samples: samples, temperature: temperature))
    }

    /// K conditional draws z_k = x + G_k with argmax z_k = D, stacked sample-major: [K·B, ...] from x [B, ...]
    /// (the draws `conditionalAverage` mixes for the same `rng` state).
    public static func conditionalPerturbations(of x: Tensor<S>, code: Tensor<S>, samples: Int, rng: inout RandomStream) -> Tensor<S> {
        Variable<S>.conditionalGumbelDraws(noiseLogits: x, code: code, samples: samples, rng: &rng)
    }

    /// (1/K) Σ_k softmax((x + G_k)/τ) with G_k = perturbed_k − x̄ detached: value and gradient in x, as
    /// one fused op over [K·B, ...] (`softmaxMixture`), whose backward sums the K Jacobian products.
    public static func average(inputs x: Variable<S>, perturbed: Tensor<S>, samples: Int, temperature: S) -> Variable<S> {
        x.softmaxMixture(shifted: perturbed, weights: [S](repeating: 1 / S(samples), count: samples), temperature: temperature)
    }
}
