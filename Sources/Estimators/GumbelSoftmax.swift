import Autodiff
import VAE

/// Gumbel-Softmax / Concrete, relaxed: Jang, Gu & Poole 2017 (arXiv 1611.01144); Maddison, Mnih & Teh
/// 2017 (arXiv 1611.00712).
///
/// Estimates ∇ E_q[f(z)] by reparameterising a *relaxed* sample that the decoder sees:
///   categorical: y = softmax((θ + G)/τ), G ~ Gumbel(0, 1)      ∇θ = J(y)·g(y)/τ
///   Bernoulli:   y = σ((a + log u − log(1 − u))/τ)  ("binary Concrete", the 2-class case in sigmoid form)
/// BIASED for the discrete objective: f is evaluated off the vertices (the bias vanishes as τ → 0 while
/// the variance grows). Requires an f that accepts simplex-valued (or [0,1]-valued) codes; the reported
/// objective value is f at the relaxed sample. The KL term stays the trainer's analytic categorical KL
/// (Jang's `kl_type` option (a)).
///
/// Options: `temperature` τ > 0 (default 1.0, Jang et al.'s τ₀).
public final class GumbelSoftmax<S: TensorScalar>: PathwiseEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "gs" }
    public static var summary: String { "Gumbel-Softmax / binary Concrete: the decoder sees the relaxed sample (biased)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> GumbelSoftmax {
        GumbelSoftmax(temperature: S(try options.temperature(default: 1)))
    }

    public let temperature: S

    public init(temperature: S = 1) {
        precondition(temperature > 0, "temperature must be > 0")
        self.temperature = temperature
    }

    /// The relaxed sample y itself.
    public func code(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Variable<S> {
        let noise = GumbelSoftmax.noise(context.latent.family, shape: context.logits.shape, rng: &rng)
        return GumbelSoftmax.relaxed(logits: context.logits, noise: noise, family: context.latent.family, temperature: temperature)
    }

    /// Gumbel noise (categorical) or logistic noise (Bernoulli), the perturbation of Gumbel-max.
    static func noise(_ family: LatentFamily, shape: [Int], rng: inout RandomStream) -> Tensor<S> {
        family == .categorical ? Tensor.gumbel(shape, using: &rng) : Tensor.logistic(shape, using: &rng)
    }

    /// softmax((θ + G)/τ) or σ((a + L)/τ), differentiable in the logits.
    static func relaxed(logits: Variable<S>, noise: Tensor<S>, family: LatentFamily, temperature: S) -> Variable<S> {
        let perturbed = logits + Variable(noise)
        let scaled = temperature == 1 ? perturbed : perturbed / temperature
        return family == .categorical ? scaled.softmax() : scaled.sigmoid()
    }

    /// The hard code of a perturbation: one-hot argmax(θ + G), or 1[a + L > 0].
    static func hardCode(logits: Tensor<S>, noise: Tensor<S>, family: LatentFamily) -> Tensor<S> {
        let perturbed = logits + noise
        switch family {
        case .categorical: return Tensor.oneHot(indices: perturbed.argmax(), classes: logits.shape.last!)
        case .bernoulli: return perturbed.greater(Tensor(0))
        }
    }
}
