// Straight-through Gumbel-Softmax (ST-GS), Jang, Gu & Poole 2017, arXiv 1611.01144
// (`F.gumbel_softmax(hard=True)`; the ReinMax and GST code call it `gumbel`).
//
// Estimates ∇θ E_q[f(D)]. BIASED, low variance, one f evaluation at a hard sample.
//   forward:  D = onehot(argmax(θ + G)), G ~ Gumbel(0, 1)  (an exact sample of Cat(softmax θ))
//   backward: through y = softmax((θ + G)/τ), i.e. ∇θ ≈ J(y)·g(D)/τ (the 1/τ is autograd's)
// Bernoulli (sigmoid form of the 2-class case): b = 1[a + L > 0], L logistic; backward through σ((a + L)/τ).
// Options: `temperature` τ > 0 (default 1.0; tuned values on MNIST-VAE are 0.3–0.7).
import Autodiff
import VAE

public enum STGumbelSoftmaxDescriptor: EstimatorDescriptor {
    public static let name = "st-gs"
    public static let summary = "straight-through Gumbel-Softmax: argmax(θ+G) forward, softmax((θ+G)/τ) backward (biased)"
    public static let optionKeys = ["temperature"]
    public static let families: Set<LatentFamily> = [.categorical, .bernoulli]
    public static func make<S: TensorScalar>(_ options: EstimatorOptions, scalar: S.Type) throws -> any GradientEstimator<S> {
        STGumbelSoftmax<S>(temperature: S(try options.temperature(default: 1)))
    }
}

public final class STGumbelSoftmax<S: TensorScalar>: GradientEstimator {
    public let name = STGumbelSoftmaxDescriptor.name
    public let temperature: S

    public init(temperature: S = 1) {
        precondition(temperature > 0, "temperature must be > 0")
        self.temperature = temperature
    }

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        let noise = GumbelSoftmax<S>.noise(context.latent.family, shape: context.logits.shape, rng: &rng)
        let z = hardRelaxed(logits: context.logits, noise: noise, family: context.latent.family)
        let f = context.objective(z)
        return Estimate(surrogate: f.sum(), objectiveValue: f.value)
    }

    /// The hard code of θ + noise, carrying the gradient of the tempered relaxation (noise replayable for tests).
    public func hardRelaxed(logits: Variable<S>, noise: Tensor<S>, family: LatentFamily) -> Variable<S> {
        let code = GumbelSoftmax<S>.hardCode(logits: logits.value, noise: noise, family: family)
        let y = GumbelSoftmax.relaxed(logits: logits, noise: noise, family: family, temperature: temperature)
        return Variable.straightThrough(value: code, surrogate: y)
    }
}
