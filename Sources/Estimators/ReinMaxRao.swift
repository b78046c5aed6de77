import Autodiff
import VAE

/// ReinMax-Rao, Wang & Bui, "Beyond ReinMax", arXiv 2603.08257 (method `reinmax_v3` in the authors'
/// development code danielwang0452/DiscreteNumericalMethodsASC).
///
/// Estimates ∇θ E_q[f(D)], D ~ Cat(softmax θ), categorical only. BIASED (like ReinMax). It replaces
/// ReinMax's single midpoint Jacobian J(π_D) by a Gumbel-Rao average of tempered Gumbel-softmax
/// Jacobians at θ_D = log π_D, conditioned on the sample:
///   π_D = ½(π + D)  (π = softmax θ, UNtempered),   θ_D = log π_D
///   J_GR = (1/K) Σ_k J(softmax((θ_D + G_k)/τ))/τ,   G_k ~ p(G | argmax(θ_D + G) = D), detached
///   ∇θ = 2·J_GR·g − ½·J(π)·g
/// (the −½ term at π, not at θ_D, as in the authors' code; the paper's eq. 17 is reported to differ).
/// Graph form: x = θ + sg(θ_D − θ) has value θ_D and identity Jacobian, so the batched average
/// (1/K) Σ_k softmax((x + G_k)/τ) carries J_GR; one fused op, linear in K. Conditioning is
/// cheap because π_D puts at least ½ of its mass on D.
///
/// Options: `samples` K ≥ 1 (default 100, the authors'), `temperature` τ > 0 (default 1.0; their best
/// MNIST-VAE values were 0.7–1.0).
public final class ReinMaxRao<S: TensorScalar>: StraightThroughEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "reinmax-rao" }
    public static var summary: String { "ReinMax with the midpoint Jacobian Rao-Blackwellised by K conditional Gumbels at log π_D (biased)" }
    public static var families: Set<LatentFamily> { [.categorical] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> ReinMaxRao {
        ReinMaxRao(samples: try options.integer("samples", default: 100), temperature: S(try options.temperature(default: 1)))
    }

    public let samples: Int
    public let temperature: S

    public init(samples: Int = 100, temperature: S = 1) {
        precondition(samples >= 1 && temperature > 0, "reinmax-rao needs samples >= 1 and temperature > 0")
        self.samples = samples
        self.temperature = temperature
    }

    /// 2·J_GR − ½·softmax θ: the Gumbel-Rao average at θ_D, drawn after the sample.
    public func surrogate(code: Tensor<S>, logits theta: Variable<S>, latent: LatentSpec, rng: inout RandomStream) -> Variable<S> {
        let (x, logMid) = ReinMaxRao.midpointLogits(theta, code: code, temperature: 1)
        let rao = GumbelRao.conditionalAverage(inputs: x, noiseLogits: logMid, code: code, samples: samples,
                                               temperature: temperature, rng: &rng)
        return 2 * rao - 0.5 * theta.softmax()
    }

    /// x = θ + sg(θ_D − θ): value θ_D = log ½(softmax(θ/τ) + D), Jacobian the identity; also θ_D itself.
    static func midpointLogits(_ theta: Variable<S>, code: Tensor<S>, temperature: S) -> (Variable<S>, Tensor<S>) {
        let logMid = ReinMax<S>.logMidpoint(code: code, logits: theta.value, temperature: temperature)
        return (theta + Variable(logMid - theta.value), logMid)
    }
}
