import Autodiff
import VAE

/// REINFORCE / score function (Williams 1992), with a baseline.
///
/// Estimates ∇θ E_q[f(z)] = E[(f(z) − c)·∇θ log q(z)]; UNBIASED for any c that does not depend on the
/// current sample. Needs only values of f (one evaluation per example). High variance; the baseline
/// reduces it. Both latent families.
///
/// Options:
/// - `baseline`:
///   - `none`: c = 0 (the plain estimator, as in the RELAX toy).
///   - `moving-average` (default): c̄ ← β·c̄ + (1−β)·mean f, updated after use so it never depends on the
///     current sample; storchastic's default β = 0.95.
///   - `optimal-constant`: per logit coordinate i, the variance-minimising constant
///     c*_i = E[f·s_i²] / E[s_i²] (s = ∇log q, E[s] = 0, so this is Cov[f·s_i, s_i] / Var[s_i]),
///     estimated for example b from everything *except* example b's own sample:
///         c_{b,i} = (Σ_{b'≠b} f_{b'} s_{b'i}² + N̄_i) / (Σ_{b'≠b} s_{b'i}² + D̄_i),
///     where N̄, D̄ are β-moving averages of the per-example means of f·s² and s² over earlier steps
///     (one pseudo-example of history, so batch size 1 works too). The examples of a batch are
///     sampled independently, so c_{b,i} is independent of z_b and the estimate stays unbiased.
///     The estimate is injected per coordinate as Σ sg((f_b − c_{b,i})·s_{b,i})·logits_{b,i}.
/// - `beta`: the decay of the moving averages, in [0, 1) (default 0.95).
/// Reference: Williams 1992 (no arXiv); baselines as in storchastic and Mnih & Gregor, arXiv 1402.0030.
public final class REINFORCE<S: TensorScalar>: GradientEstimator {
    public static var name: String { "reinforce" }
    public static var summary: String { "score function with a baseline (unbiased, high variance)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> REINFORCE {
        let baseline = try options.choice("baseline", default: "moving-average", allowed: Baseline.allCases.map(\.rawValue))
        let beta = try options.number("beta", default: 0.95, requirement: "must be in [0, 1)") { $0 >= 0 && $0 < 1 }
        return REINFORCE(baseline: Baseline(rawValue: baseline)!, beta: beta)
    }

    public enum Baseline: String, CaseIterable {
        case none
        case movingAverage = "moving-average"
        case optimalConstant = "optimal-constant"
    }

    public let baseline: Baseline
    public let beta: Double
    /// The running mean of f (per example), the moving-average baseline.
    public private(set) var average: Double = 0
    /// Moving averages of mean_b f_b·s_{b,i}² and mean_b s_{b,i}² (optimal-constant baseline).
    private var historyNumerator: [Double] = []
    private var historyDenominator: [Double] = []

    public init(baseline: Baseline = .movingAverage, beta: Double = 0.95) {
        self.baseline = baseline
        self.beta = beta
    }

    public var persistentState: [Double] {
        get { [average] + historyNumerator + historyDenominator }
        set {
            average = newValue.first ?? 0
            let rest = Array(newValue.dropFirst()), half = rest.count / 2
            historyNumerator = Array(rest[..<half])
            historyDenominator = Array(rest[half...])
        }
    }

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        let code = context.latent.sample(logits: context.logits.value, rng: &rng)
        let f = context.objective(Variable(code))
        if baseline == .optimalConstant {
            let g = optimalConstantGradient(code: code, f: f.value, context: context)
            return Estimate(surrogate: f.sum() + (Variable(g) * context.logits).sum(), objectiveValue: f.value)
        }
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

    /// ĝ_{b,i} = (f_b − c_{b,i})·s_{b,i} with the leave-this-example-out optimal constant (see the header).
    func optimalConstantGradient(code: Tensor<S>, f: Tensor<S>, context: EstimatorContext<S>) -> Tensor<S> {
        let shape = context.logits.shape, batch = shape[0], width = context.logits.value.count / batch
        let s = ScoreFunction.score(of: code, logits: context.logits.value, latent: context.latent).scalars.map { Double($0) }
        let fs = f.scalars.map { Double($0) }
        if historyNumerator.count != width {
            historyNumerator = Array(repeating: 0, count: width)
            historyDenominator = Array(repeating: 0, count: width)
        }
        var batchNumerator = [Double](repeating: 0, count: width), batchDenominator = batchNumerator
        for b in 0..<batch {
            for i in 0..<width {
                let s2 = s[b * width + i] * s[b * width + i]
                batchNumerator[i] += fs[b] * s2
                batchDenominator[i] += s2
            }
        }
        var g = [S](repeating: 0, count: batch * width)
        for b in 0..<batch {
            // Leave example b out exactly (summing the others, not subtracting b's term), so even the
            // rounding of c_b is independent of example b's sample.
            var num = historyNumerator, den = historyDenominator
            for other in 0..<batch where other != b {
                for i in 0..<width {
                    let s2 = s[other * width + i] * s[other * width + i]
                    num[i] += fs[other] * s2
                    den[i] += s2
                }
            }
            for i in 0..<width {
                let si = s[b * width + i]
                let c = den[i] > 1e-12 ? num[i] / den[i] : 0
                g[b * width + i] = S((fs[b] - c) * si)
            }
        }
        for i in 0..<width {
            historyNumerator[i] = beta * historyNumerator[i] + (1 - beta) * batchNumerator[i] / Double(batch)
            historyDenominator[i] = beta * historyDenominator[i] + (1 - beta) * batchDenominator[i] / Double(batch)
        }
        return Tensor(shape: shape, scalars: g)
    }
}
