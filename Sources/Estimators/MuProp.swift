import Autodiff
import VAE

/// MuProp (Gu, Levine, Sutskever & Mnih 2016, arXiv 1511.05176): REINFORCE with the first-order Taylor
/// expansion of f around the mean-field code as control variate.
///
/// With μ = E_q[z] (σ(a) for Bernoulli units, softmax θ for categorical variables), evaluated once as a
/// constant expansion point μ̄, the control variate h(z) = f(μ̄) + f'(μ̄)ᵀ(z − μ̄) has the analytic mean
/// f(μ̄) + f'(μ̄)ᵀ(μ(θ) − μ̄), so
///   ĝ = [f(z) − f(μ̄) − f'(μ̄)ᵀ(z − μ̄)]·∇θ log q(z) + (∂μ/∂θ)ᵀ f'(μ̄).
/// UNBIASED (h does not depend on the sample; its expectation is differentiated exactly). Costs one
/// extra forward and backward pass of f at μ̄; needs f to accept relaxed codes. The decoder gets ∇f(z)
/// only: f(μ̄) and f'(μ̄) are computed on a separate, detached graph. Both latent families.
/// Simplification, stated: no learned scalings of the two CV terms and no extra NVIL baseline (TF REBAR's
/// `muprop` adds both); this is the plain MuProp estimator.
///
/// No options.
public final class MuProp<S: TensorScalar>: GradientEstimator {
    public static var name: String { "muprop" }
    public static var summary: String { "REINFORCE with a first-order Taylor control variate at the mean-field code (unbiased)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> MuProp {
        MuProp()
    }

    public init() {}

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        let latent = context.latent, logits = context.logits
        let code = latent.sample(logits: logits.value, rng: &rng)
        let f = context.objective(Variable(code))
        // Mean-field pass on its own leaf: f(μ̄) and f'(μ̄), no gradient reaches the decoder from here.
        let meanField = Variable(latent.family == .categorical ? logits.value.softmax() : logits.value.sigmoid(),
                                 requiresGradient: true)
        let fMean = context.objective(meanField)
        let slope = gradients(of: fMean.sum(), wrt: [meanField])[0].value   // f'(μ̄), per example (rows are independent)
        let linear = (slope * (code - meanField.value)).reshaped([context.batchSize, latent.codeWidth]).sum(alongAxis: -1)
        let signal = f.value - fMean.value - linear                            // [B]
        let logQ = latent.logProbability(of: code, logits: logits)
        let mean = latent.family == .categorical ? logits.softmax() : logits.sigmoid()
        let surrogate = f.sum() + (Variable(signal) * logQ).sum() + (Variable(slope) * mean).sum()
        return Estimate(surrogate: surrogate, objectiveValue: f.value)
    }
}
