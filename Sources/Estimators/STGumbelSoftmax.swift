import Autodiff
import VAE

/// Straight-through Gumbel-Softmax (ST-GS), Jang, Gu & Poole 2017, arXiv 1611.01144
/// (`F.gumbel_softmax(hard=True)`; the ReinMax and GST code call it `gumbel`).
///
/// Estimates ∇θ E_q[f(D)]. BIASED, low variance, one f evaluation at a hard sample.
///   forward:  D = onehot(argmax(θ + G)), G ~ Gumbel(0, 1)  (an exact sample of Cat(softmax θ))
///   backward: through y = softmax((θ + G)/τ), i.e. ∇θ ≈ J(y)·g(D)/τ (the 1/τ is autograd's)
/// Bernoulli (sigmoid form of the 2-class case): b = 1[a + L > 0], L logistic; backward through σ((a + L)/τ).
/// A pathwise estimator rather than a `StraightThroughEstimator`: its hard code and its relaxation share
/// one Gumbel draw, so the code is not `LatentSpec.sample`'s.
///
/// Options: `temperature` τ > 0 (default 1.0; tuned values on MNIST-VAE are 0.3–0.7).
public final class STGumbelSoftmax<S: TensorScalar>: PathwiseEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "st-gs" }
    public static var summary: String { "straight-through Gumbel-Softmax: argmax(θ+G) forward, softmax((θ+G)/τ) backward (biased)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> STGumbelSoftmax {
        STGumbelSoftmax(temperature: S(try options.temperature(default: 1)))
    }

    public let temperature: S

    public init(temperature: S = 1) {
        precondition(temperature > 0, "temperature must be > 0")
        self.temperature = temperature
    }

    public func code(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Variable<S> {
        let noise = GumbelSoftmax<S>.noise(context.latent.family, shape: context.logits.shape, rng: &rng)
        return hardRelaxed(logits: context.logits, noise: noise, family: context.latent.family)
    }

    /// The hard code of θ + noise, carrying the gradient of the tempered relaxation (noise replayable for tests).
    public func hardRelaxed(logits: Variable<S>, noise: Tensor<S>, family: LatentFamily) -> Variable<S> {
        let code = GumbelSoftmax<S>.hardCode(logits: logits.value, noise: noise, family: family)
        let y = GumbelSoftmax.relaxed(logits: logits, noise: noise, family: family, temperature: temperature)
        return Variable.straightThrough(value: code, surrogate: y)
    }
}
