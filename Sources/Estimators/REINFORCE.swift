// REINFORCE / score function (Williams 1992), with a baseline.
//
// Estimates ∇θ E_q[f(z)] = E[(f(z) − c)·∇θ log q(z)]; UNBIASED for any c that does not depend on the
// current sample. Needs only values of f. High variance; the baseline reduces it.
// Options:
// - `baseline`: `none`, `moving-average` (c̄ ← β·c̄ + (1−β)·mean f, updated after use so it never
//   depends on the current sample; storchastic's default β = 0.95).
// - `beta`: the moving-average decay in [0, 1) (default 0.95).
import Autodiff
import VAE

public enum REINFORCEDescriptor: EstimatorDescriptor {
    public static let name = "reinforce"
    public static let summary = "score function with a baseline (unbiased, high variance)"
    public static let optionKeys = ["baseline", "beta"]
    public static let families: Set<LatentFamily> = [.categorical, .bernoulli]
    public static func make<S: TensorScalar>(_ options: EstimatorOptions, scalar: S.Type) throws -> any GradientEstimator<S> {
        let baseline = try options.choice("baseline", default: "moving-average", allowed: REINFORCE<S>.Baseline.allCases.map(\.rawValue))
        let beta = try options.number("beta", default: 0.95, requirement: "must be in [0, 1)") { $0 >= 0 && $0 < 1 }
        return REINFORCE<S>(baseline: REINFORCE<S>.Baseline(rawValue: baseline)!, beta: beta)
    }
}

public final class REINFORCE<S: TensorScalar>: GradientEstimator {
    public enum Baseline: String, CaseIterable { case none, movingAverage = "moving-average" }

    public let name = REINFORCEDescriptor.name
    public let baseline: Baseline
    public let beta: Double
    /// The running mean of f (per example), the moving-average baseline.
    public private(set) var average: Double = 0

    public init(baseline: Baseline = .movingAverage, beta: Double = 0.95) {
        self.baseline = baseline
        self.beta = beta
    }

    public var persistentState: [Double] {
        get { [average] }
        set { average = newValue.first ?? 0 }
    }

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        let code = context.latent.sample(logits: context.logits.value, rng: &rng)
        let f = context.objective(Variable(code))
        let logQ = context.latent.logProbability(of: code, logits: context.logits)
        let c = baseline == .none ? 0 : S(average)
        let signal = Variable(f.value - c)
        let surrogate = f.sum() + (signal * logQ).sum()
        if baseline == .movingAverage {
            let mean = Double(f.value.mean().scalar)
            average = beta * average + (1 - beta) * mean
        }
        return Estimate(surrogate: surrogate, objectiveValue: f.value)
    }
}
