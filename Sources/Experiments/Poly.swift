// The ReinMax polynomial-programming toy (Liu et al. 2023, arXiv 2304.08612, §5.2 of the reference;
// `poly/poly_programming.py`): L = 128 binary variables encoded as 2-class categoricals with logits
// θ ∈ R^{128×2} (init U(−0.01, 0.01)); z_l is the first coordinate of the one-hot sample; the loss is
//   (1/128) Σ_l |z_l − 0.45|^p,   p ∈ {1.5, 2, 3},
// a batch of 64 samples shares θ; Adam, lr 1e-3, 40 epochs × 200 steps. The optimum (P(z_l = 1) → 0)
// is 0.45^p. The reported metric is the average training loss over the last epoch, averaged over seeds.
// Why it separates estimators: for p = 2, E_D[ST] ∝ E[g(D)] = 2·P(z=1) − 0.9, which changes sign at
// P(z=1) = 0.45, so ST stalls near a wrong stationary point (expected loss ≈ 0.2475), while the Heun
// rule is exact for a quadratic and ReinMax follows the true gradient down to 0.2025.
import Autodiff
import Estimators
import Foundation
import Training
import VAE

public struct PolyProblem: Sendable, Equatable {
    public var variables = 128
    public var target = 0.45
    public var p = 2.0
    public var batchSize = 64
    public var steps = 8000
    public var stepsPerEpoch = 200
    public var learningRate = 1e-3

    public init(p: Double = 2, steps: Int = 8000) {
        self.p = p
        self.steps = steps
    }

    /// The sizes an estimator with networks of its own is built for: the code is L variables × 2 classes (RELAX's
    /// control variate reads it); there is no input x (the 784 is the registry default, read by no poly estimator).
    public var sizes: ModelSizes { ModelSizes(inputSize: 784, codeWidth: 2 * variables) }

    /// The best achievable expected loss, 0.45^p (all variables at z = 0).
    public var optimum: Double { Foundation.pow(target, p) }
}

public struct PolyRun: Sendable {
    public let estimator: String
    public let p: Double
    public let seed: Int
    /// Mean training loss of each epoch (as accumulated while training, the paper's metric).
    public let epochLosses: [Double]
    /// The exact expected loss E_q[loss] at the end of each epoch.
    public let epochExactLosses: [Double]

    /// The paper's metric: the average training loss over the last epoch.
    public var finalLoss: Double { epochLosses.last ?? .nan }
    public var finalExactLoss: Double { epochExactLosses.last ?? .nan }
}

public enum Poly {
    /// Trains θ on the toy with one estimator and seed. Runs in Float64 (the toy is tiny).
    public static func run(_ problem: PolyProblem, estimator options: EstimatorOptions, seed: Int) throws -> PolyRun {
        let estimator: any GradientEstimator<Double> = try EstimatorRegistry.make(options, sizes: problem.sizes, family: .categorical)
        var rng = RandomStream(seed: UInt64(seed))
        let (L, B) = (problem.variables, problem.batchSize)
        let theta = Variable(Tensor<Double>.uniform([L, 2], using: &rng) * 0.02 - 0.01, requiresGradient: true)
        var noise = rng.split()
        let optimizer = Optimizer<Double>(kind: .adam, parameters: [theta], learningRate: problem.learningRate)
        let latent = LatentSpec.categorical(L, 2)
        let firstClass = Variable(Tensor<Double>(shape: [2], scalars: [1, 0]))
        let (target, p, scale) = (problem.target, problem.p, 1 / Double(L))
        let objective: (Variable<Double>) -> Variable<Double> = { z in
            ((z * firstClass).sum(alongAxis: -1) - target).abs().pow(p).sum(alongAxis: -1) * scale
        }
        var epochLosses: [Double] = [], exactLosses: [Double] = []
        var running = 0.0, count = 0
        for step in 1...problem.steps {
            let logits = theta.reshaped([1, L, 2]).expanded(to: [B, L, 2])
            let estimate = estimator.estimate(EstimatorContext(logits: logits, latent: latent, objective: objective), rng: &noise)
            let grad = gradients(of: estimate.surrogate / Double(B), wrt: [theta])[0].value
            optimizer.step([theta], gradients: [grad])
            running += estimate.objectiveValue.mean().scalar
            count += 1
            if step % problem.stepsPerEpoch == 0 || step == problem.steps {
                epochLosses.append(running / Double(count))
                exactLosses.append(exactLoss(theta.value, problem))
                running = 0
                count = 0
            }
        }
        return PolyRun(estimator: label(options), p: p, seed: seed, epochLosses: epochLosses, epochExactLosses: exactLosses)
    }

    /// E_q[(1/L) Σ_l |z_l − t|^p] with P(z_l = 1) = softmax(θ_l)₀.
    public static func exactLoss(_ theta: Tensor<Double>, _ problem: PolyProblem) -> Double {
        let q = theta.softmax().scalars
        let (one, zero) = (Foundation.pow(1 - problem.target, problem.p), Foundation.pow(problem.target, problem.p))
        var total = 0.0
        for l in 0..<problem.variables { total += q[2 * l] * one + q[2 * l + 1] * zero }
        return total / Double(problem.variables)
    }

    /// `reinmax(temperature=1)`-style label for tables.
    public static func label(_ options: EstimatorOptions) -> String {
        let settings = options.values.keys.sorted().map { "\($0)=\(options.values[$0]!)" }
        return settings.isEmpty ? options.estimator : "\(options.estimator)(\(settings.joined(separator: ",")))"
    }

    // MARK: - Writers

    /// One row per (run, epoch): estimator,p,seed,epoch,step,train_loss,exact_loss.
    public static func curvesCSV(_ runs: [PolyRun], stepsPerEpoch: Int) -> String {
        var table = CSVTable(columns: ["estimator", "p", "seed", "epoch", "step", "train_loss", "exact_loss"])
        for run in runs {
            for (e, (loss, exact)) in zip(run.epochLosses, run.epochExactLosses).enumerated() {
                table.append([.text(run.estimator), .number(run.p, places: 2), .integer(run.seed), .integer(e + 1),
                              .integer((e + 1) * stepsPerEpoch), .number(loss, places: 9), .number(exact, places: 9)])
            }
        }
        return table.text
    }

    public struct TableRow: Sendable {
        public let estimator: String
        public let p: Double
        public let seeds: Int
        public let mean: Double, standardError: Double
        public let exactMean: Double
        public let optimum: Double
    }

    /// Mean ± standard error (population sd/√n, as the ReinMax analysis scripts) over seeds.
    public static func table(_ runs: [PolyRun], problem: PolyProblem) -> [TableRow] {
        var keys: [(String, Double)] = []
        for run in runs where !keys.contains(where: { $0 == (run.estimator, run.p) }) { keys.append((run.estimator, run.p)) }
        return keys.map { key in
            let group = runs.filter { ($0.estimator, $0.p) == key }
            let values = group.map(\.finalLoss)
            let n = Double(values.count)
            let mean = values.reduce(0, +) / n
            let sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
            var optimumProblem = problem
            optimumProblem.p = key.1
            return TableRow(estimator: key.0, p: key.1, seeds: values.count, mean: mean, standardError: sd / n.squareRoot(),
                            exactMean: group.map(\.finalExactLoss).reduce(0, +) / n, optimum: optimumProblem.optimum)
        }
    }

    public static func tableCSV(_ rows: [TableRow]) -> String {
        var table = CSVTable(columns: ["estimator", "p", "seeds", "final_train_loss_mean", "final_train_loss_se", "final_exact_loss_mean", "optimum"])
        for r in rows {
            table.append([.text(r.estimator), .number(r.p, places: 2), .integer(r.seeds), .number(r.mean, places: 9),
                          .number(r.standardError, places: 9), .number(r.exactMean, places: 9), .number(r.optimum, places: 9)])
        }
        return table.text
    }

    /// A markdown table: estimators as rows, p as columns, "mean ± se" of the last-epoch training loss.
    public static func tableMarkdown(_ rows: [TableRow], header: String) -> String {
        var ps: [Double] = [], names: [String] = []
        for row in rows {
            if !ps.contains(row.p) { ps.append(row.p) }
            if !names.contains(row.estimator) { names.append(row.estimator) }
        }
        var out = header + "\n\n| estimator | " + ps.map { "p = \(format($0, 1))" }.joined(separator: " | ") + " |\n"
        out += "|---|" + ps.map { _ in "---|" }.joined() + "\n"
        out += "| optimum 0.45^p | " + ps.map { p in format(Foundation.pow(0.45, p), 5) }.joined(separator: " | ") + " |\n"
        for name in names {
            out += "| \(name) | " + ps.map { p in
                guard let r = rows.first(where: { $0.estimator == name && $0.p == p }) else { return "" }
                return "\(format(r.mean, 5)) ± \(format(r.standardError, 5)) (exact \(format(r.exactMean, 5)))"
            }.joined(separator: " | ") + " |\n"
        }
        return out
    }

    static func format(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
}
