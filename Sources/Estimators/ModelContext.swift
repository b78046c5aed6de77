// The VAE's side of the estimator contract: what an estimator sees for a batch of the model.
import Autodiff
import VAE

extension EstimatorContext {
    /// The context for a batch `x` of `model` with encoder `logits`: f(z) = −log p(x | z) per row (the model's
    /// `reconstructionObjective`), the latent spec, and `x` for input-dependent baselines. The trainer,
    /// `analyze` and `bench` all build it here, so they measure the same objective.
    public init(model: DiscreteVAE<S>, logits: Variable<S>, x: Tensor<S>) {
        self.init(logits: logits, latent: model.latent, inputs: x, objective: model.reconstructionObjective(x: x))
    }
}
