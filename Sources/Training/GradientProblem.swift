// An estimator's encoder-logit gradient on a fixed batch of a model: what `analyze` measures and the
// trainer's `grad_var` column samples.
import Autodiff
import Estimators
import Foundation
import VAE

/// The fixed problem every estimator is measured on: a model, a batch and its (constant) logits.
public struct GradientProblem {
    public let model: DiscreteVAE<Float>
    public let x: Tensor<Float>
    public let logits: Tensor<Float>

    public init(model: DiscreteVAE<Float>, x: Tensor<Float>) {
        self.model = model
        self.x = x
        logits = withoutGradients { model.encode(Variable(x)).value }
    }

    public var latent: LatentSpec { model.latent }
    public var batchSize: Int { x.shape[0] }

    /// A context over a fresh leaf copy of the logits (its gradient is the estimate).
    public func context(_ leaf: Variable<Float>) -> EstimatorContext<Float> {
        EstimatorContext(model: model, logits: leaf, x: x)
    }

    /// One draw of the estimator's logit gradient, flattened, and its wall time in seconds.
    public func draw(_ estimator: any GradientEstimator<Float>, rng: inout RandomStream) -> (gradient: Tensor<Float>, seconds: Double, includesKL: Bool) {
        let start = DispatchTime.now().uptimeNanoseconds
        let leaf = Variable(logits, requiresGradient: true)
        let estimate = estimator.estimate(context(leaf), rng: &rng)
        let g = gradients(of: estimate.surrogate, wrt: [leaf])[0].value
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return (g, seconds, estimate.includesKL)
    }
}
