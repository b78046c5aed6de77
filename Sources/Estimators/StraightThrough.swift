import Autodiff
import VAE

/// Straight-through (ST), Bengio, Léonard & Courville 2013, arXiv 1308.3432.
///
/// Estimates ∇θ E_q[f(z)]; BIASED (at τ = 1 its expectation is the forward-Euler approximation of the
/// exact gradient, ReinMax §3; tested exactly), low variance, one evaluation of f and ∂f/∂z at a hard
/// sample. The first-order member of the family whose second-order member is `reinmax`.
/// - Categorical: forward D ~ Cat(softmax θ); backward treats D as softmax(θ/τ), i.e. ∇θ ≈ J(π_τ)g/τ
///   (the 1/τ is autograd's; ReinMax has none). τ changes only the backward surrogate, never the sample.
/// - Bernoulli: forward b ~ Bern(σ(a)); backward through σ(a/τ) (the 2-class softmax in sigmoid form).
///
/// Options: `temperature` τ > 0 (default 1; the ReinMax MNIST-VAE tuning uses 1.3–1.5).
public final class StraightThrough<S: TensorScalar>: StraightThroughEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "st" }
    public static var summary: String { "straight-through: hard sample forward, softmax(θ/τ) backward (biased)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> StraightThrough {
        StraightThrough(temperature: S(try options.temperature(default: 1)))
    }

    public let temperature: S

    public init(temperature: S = 1) {
        precondition(temperature > 0, "temperature must be > 0")
        self.temperature = temperature
    }

    /// softmax(θ/τ), or σ(a/τ) for Bernoulli units.
    public func surrogate(code: Tensor<S>, logits: Variable<S>, latent: LatentSpec, rng: inout RandomStream) -> Variable<S> {
        let scaled = temperature == 1 ? logits : logits / temperature
        return latent.family == .categorical ? scaled.softmax() : scaled.sigmoid()
    }
}
