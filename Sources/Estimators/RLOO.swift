import Autodiff
import VAE

/// RLOO: REINFORCE with M samples per input and the leave-one-out baseline
/// (Kool, van Hoof & Welling 2019, "Buy 4 REINFORCE samples, get a baseline for free!", ICLR workshop;
/// Salimans & Knowles 2014, arXiv 1402.0480).
///
/// Estimates ∇θ E_q[f(z)] by (1/M) Σ_m (f_m − (1/(M−1)) Σ_{j≠m} f_j)·∇θ log q(z_m); UNBIASED (the
/// baseline of sample m uses only the other, independent samples). M evaluations of f per example
/// (one call of the objective with M stacked copies). The decoder gets (1/M) Σ_m ∇f(z_m).
/// Both latent families.
///
/// Options: `samples` M ≥ 2 (default 2; RLOO(2) costs what DisARM costs).
public final class RLOO<S: TensorScalar>: GradientEstimator {
    public static var name: String { "rloo" }
    public static var summary: String { "M-sample REINFORCE with the leave-one-out baseline (unbiased)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> RLOO {
        RLOO(samples: try options.integer("samples", default: 2, minimum: 2))
    }

    public let samples: Int

    public init(samples: Int = 2) {
        precondition(samples >= 2, "rloo needs samples >= 2")
        self.samples = samples
    }

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        let m = samples, batch = context.batchSize
        let logits = ScoreFunction.repeated(context.logits, m)                     // [M·B, ...]
        let codes = context.latent.sample(logits: logits.value, rng: &rng)
        let f = context.objective(Variable(codes))                                  // [M·B]
        let logQ = context.latent.logProbability(of: codes, logits: logits)        // [M·B]
        // f_m − mean_{j≠m} f_j = M/(M−1)·(f_m − f̄).
        let mean = f.value.reshaped([m, batch]).mean(alongAxis: 0, keepingDimensions: true)
        let signal = (f.value.reshaped([m, batch]) - mean) * S(Double(m) / Double(m - 1))
        let scale = S(1) / S(m)
        let surrogate = (f.sum() + (Variable(signal.reshaped([m * batch])) * logQ).sum()) * scale
        return Estimate(surrogate: surrogate, objectiveValue: mean.reshaped([batch]))
    }
}
