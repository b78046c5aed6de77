// The REBAR/RELAX toy (RELAX paper §6.1, figures 1–2; duvenaud/relax `pytorch_toy.py`): one Bernoulli
// unit b ~ Bern(θ), θ = σ(logit), minimise E[(b − t)²] with t = 0.499 (optimum θ → 0; the exact
// gradient is only 1 − 2t = 0.002 per unit of θ, so estimator variance decides the speed).
// Adam lr 0.01 on the logit (init 0) and on the estimator's own parameters, batch 1.
// Logs θ, the exact loss θ(1−t)² + (1−θ)t², and the variance of the estimator's logit gradient at the
// current θ; RELAX's learned c_φ(z) = f(σ_λ(z)) + r_ρ(2σ_λ(z) − 1) can be tabulated over z.
import Autodiff
import Estimators
import Foundation
import Training
import VAE

public struct ToySettings: Sendable {
    public var target = 0.499
    public var steps = 10_000
    public var learningRate = 0.01
    /// Log a curve point every this many steps (and at step 0 and the last step).
    public var logEvery = 100
    /// Draws per gradient-variance estimate at a logged point (0 = do not measure).
    public var varianceDraws = 100
    public init() {}
}

public struct ToyPoint: Sendable {
    public var step: Int
    public var theta: Double
    public var loss: Double
    /// Variance of the logit-gradient estimate at this θ (NaN when not measured).
    public var gradientVariance: Double
    /// The estimator's own parameters at this step (η, log λ, ...), as numbers; RELAX lists log λ only.
    public var estimatorParameters: [Double]
}

public struct ToyRun: Sendable {
    public var estimator: String
    public var seed: Int
    public var points: [ToyPoint]
    /// First logged step with θ < 0.1, if any.
    public var firstStepBelowTenPercent: Int?
    /// RELAX's c_φ tabulated over z at logged snapshots (empty for other estimators).
    public var controlVariateSnapshots: [ToyControlVariateSnapshot]
}

public struct ToyControlVariateSnapshot: Sendable {
    public var step: Int
    public var theta: Double
    /// (z, σ_λ(z), f(σ_λ(z)), r_ρ, c_φ) rows.
    public var rows: [(z: Double, relaxed: Double, f: Double, r: Double, c: Double)]
}

public enum Toy {
    /// Estimators as the paper's toy configures them; anything else comes from the registry with defaults.
    /// - reinforce: no baseline (the paper's plain score function).
    /// - rebar: η = 1, log λ = 0.5, the plain relaxation σ(z/λ), lr scale 1 (pytorch_toy.py).
    /// - relax: c_φ = f(σ_λ(z)) + r_ρ with r_ρ one tanh layer of 10 units, log λ = 0.5, plain relaxation.
    /// - nvil: a learned constant baseline (there is no input).
    public static func estimator(named name: String) throws -> any GradientEstimator<Double> {
        let logTemperature = 0.5
        switch name {
        case "reinforce": return REINFORCE<Double>(baseline: .none)
        case "rebar": return REBAR<Double>(eta: 1, temperature: Foundation.exp(logTemperature), relaxation: .plain, learningRateScale: 1)
        case "relax":
            return RELAX<Double>(codeWidth: 1, hidden: 10, layers: 1, temperature: Foundation.exp(logTemperature),
                                 relaxation: .plain, learningRateScale: 1)
        case "nvil": return NVIL<Double>(inputSize: 1, hidden: 4, learningRateScale: 1)
        default: return try EstimatorRegistry.make(EstimatorOptions(estimator: name), family: .bernoulli, scalar: Double.self)
        }
    }

    public static func exactLoss(theta: Double, target t: Double) -> Double { theta * (1 - t) * (1 - t) + (1 - theta) * t * t }

    /// f(z) = (z − t)² per row for codes or relaxed codes [R, 1].
    static func objective(target: Double) -> (Variable<Double>) -> Variable<Double> {
        { z in (z - target).square().sum(alongAxis: -1) }
    }

    /// One training run; `seed` drives all noise.
    public static func run(estimator name: String, seed: Int, settings: ToySettings = ToySettings(),
                           snapshotSteps: Set<Int> = []) throws -> ToyRun {
        let estimator = try estimator(named: name)
        let logit = Variable(Tensor<Double>(zeros: [1, 1]), requiresGradient: true, name: "toy.logit")
        let optimizer = Optimizer<Double>(kind: .adam, parameters: [logit], learningRate: settings.learningRate)
        let auxiliaryOptimizer = estimator.parameters.isEmpty ? nil
            : Optimizer<Double>(kind: .adam, parameters: estimator.parameters,
                                learningRate: settings.learningRate * estimator.parameterLearningRateScale)
        var noise = RandomStream(seed: UInt64(seed))
        var measurement = noise.split()
        let objective = objective(target: settings.target)
        var points: [ToyPoint] = []
        var snapshots: [ToyControlVariateSnapshot] = []
        var firstBelow: Int?

        func record(_ step: Int) {
            let theta = 1 / (1 + Foundation.exp(-logit.value.scalar))
            let variance = settings.varianceDraws > 1
                ? gradientVariance(estimator, logit: logit.value, objective: objective, draws: settings.varianceDraws, rng: &measurement)
                : .nan
            points.append(ToyPoint(step: step, theta: theta, loss: exactLoss(theta: theta, target: settings.target),
                                   gradientVariance: variance, estimatorParameters: parameterSummary(estimator)))
            if firstBelow == nil, theta < 0.1 { firstBelow = step }
            if snapshotSteps.contains(step), let snapshot = controlVariate(estimator, theta: theta, target: settings.target, step: step) {
                snapshots.append(snapshot)
            }
        }

        record(0)
        for step in 1...settings.steps {
            let context = EstimatorContext(logits: logit, latent: .bernoulli(1), objective: objective)
            let estimate = estimator.estimate(context, rng: &noise)
            let gradient = gradients(of: estimate.surrogate, wrt: [logit])[0].value
            if let auxiliary = estimate.auxiliaryLoss, let auxiliaryOptimizer {
                auxiliaryOptimizer.step(estimator.parameters, gradients: gradients(of: auxiliary, wrt: estimator.parameters).map(\.value))
            }
            optimizer.step([logit], gradients: [gradient])
            if step % settings.logEvery == 0 || step == settings.steps { record(step) }
        }
        return ToyRun(estimator: name, seed: seed, points: points, firstStepBelowTenPercent: firstBelow,
                      controlVariateSnapshots: snapshots)
    }

    /// Sample variance of the logit-gradient estimate at a fixed logit (the estimator's parameters are not
    /// updated; a moving-average baseline would be, so the toy's REINFORCE uses none).
    static func gradientVariance(_ estimator: any GradientEstimator<Double>, logit: Tensor<Double>,
                                 objective: @escaping (Variable<Double>) -> Variable<Double>, draws: Int,
                                 rng: inout RandomStream) -> Double {
        var sum = 0.0, sumSquares = 0.0
        for _ in 0..<draws {
            let leaf = Variable(logit, requiresGradient: true)
            let estimate = estimator.estimate(EstimatorContext(logits: leaf, latent: .bernoulli(1), objective: objective), rng: &rng)
            let g = gradients(of: estimate.surrogate, wrt: [leaf])[0].value.scalar
            sum += g
            sumSquares += g * g
        }
        let n = Double(draws)
        return (sumSquares - sum * sum / n) / (n - 1)
    }

    /// η and log λ where the estimator reports them (REBAR both, RELAX log λ), in the curve CSV's order.
    static func parameterSummary(_ estimator: any GradientEstimator<Double>) -> [Double] {
        let reported = estimator.diagnostics
        return ["eta", "log_temperature"].compactMap { name in reported.first { $0.name == name }?.value }
    }

    /// c_φ(z) = f(σ_λ(z)) + r_ρ(2σ_λ(z) − 1) on a grid of z at the current parameters and θ; nil for an
    /// estimator without a learned control variate (all but RELAX).
    public static func controlVariate(_ estimator: any GradientEstimator<Double>, theta: Double, target: Double, step: Int,
                                      grid: [Double] = stride(from: -8.0, through: 8.0, by: 0.1).map { $0 }) -> ToyControlVariateSnapshot? {
        withoutGradients {
            let n = grid.count
            let z = Variable(Tensor(shape: [n, 1], scalars: grid))
            let a = Variable(Tensor<Double>(repeating: Foundation.log(theta / (1 - theta)), shape: [n, 1]))
            guard let parts = estimator.controlVariateParts(perturbed: z, logits: a, family: .bernoulli,
                                                            objective: objective(target: target)) else { return nil }
            let rows = (0..<n).map { i in
                (z: grid[i], relaxed: parts.relaxed.value[flat: i], f: parts.objective.value[flat: i],
                 r: parts.residual.value[flat: i], c: parts.total.value[flat: i])
            }
            return ToyControlVariateSnapshot(step: step, theta: theta, rows: rows)
        }
    }

    /// `vae-train toy`: every estimator × seeds 1...`seeds`, one line per run through `log`; writes curves.csv,
    /// summary.csv, relax_control_variate.csv (when RELAX ran) and COMMAND.txt (`command`) to `output`.
    public static func runExperiment(estimators names: [String], seeds: Int, settings: ToySettings, output: String,
                                     command: String, log: (String) -> Void) throws {
        let steps = settings.steps, logEvery = settings.logEvery
        let snapshots: Set<Int> = [0, steps / 10 - steps / 10 % logEvery, steps / 2 - steps / 2 % logEvery, steps]
        var curves = CSVTable(columns: curveColumns), controlVariate = CSVTable(columns: controlVariateColumns)
        var summary = CSVTable(columns: ["estimator", "seed", "first_step_theta_below_0.1", "final_theta", "final_loss", "seconds"])
        for name in names {
            for seed in 1...seeds {
                let start = Date()
                let run = try Toy.run(estimator: name, seed: seed, settings: settings, snapshotSteps: snapshots)
                let seconds = Date().timeIntervalSince(start)
                curveRows(run).forEach { curves.append($0) }
                controlVariateRows(run).forEach { controlVariate.append($0) }
                let last = run.points.last!
                summary.append([.text(name), .integer(seed), run.firstStepBelowTenPercent.map { .integer($0) } ?? .missing,
                                .number(last.theta, places: 9), .number(last.loss, places: 9), .number(seconds, places: 1)])
                log(String(format: "%@ seed %d: final θ %.4g, first θ<0.1 at %@ (%.1fs)", name, seed, last.theta,
                           run.firstStepBelowTenPercent.map(String.init) ?? "never", seconds))
            }
        }
        func path(_ file: String) -> String { (output as NSString).appendingPathComponent(file) }
        try curves.write(to: path("curves.csv"))
        try summary.write(to: path("summary.csv"))
        if !controlVariate.lines.isEmpty { try controlVariate.write(to: path("relax_control_variate.csv")) }
        try writeAtomically(Data((command + "\n").utf8), to: path("COMMAND.txt"))
        log("wrote \(output)/curves.csv, summary.csv\(controlVariate.lines.isEmpty ? "" : ", relax_control_variate.csv")")
    }

    // MARK: - CSV

    public static let curveColumns = ["estimator", "seed", "step", "theta", "loss", "grad_var", "eta", "log_temperature"]

    /// θ and the loss with 9 places (θ is driven towards 0), the gradient variance with 12, η and log λ with 6.
    public static func curveRows(_ run: ToyRun) -> [[CSVValue]] {
        run.points.map { p in
            var eta = CSVValue.missing, logTemperature = CSVValue.missing
            if p.estimatorParameters.count == 2 { (eta, logTemperature) = (.number(p.estimatorParameters[0], places: 6), .number(p.estimatorParameters[1], places: 6)) }
            if p.estimatorParameters.count == 1 { logTemperature = .number(p.estimatorParameters[0], places: 6) }
            return [.text(run.estimator), .integer(run.seed), .integer(p.step), .number(p.theta, places: 9), .number(p.loss, places: 9),
                    p.gradientVariance.isNaN ? .missing : .number(p.gradientVariance, places: 12), eta, logTemperature]
        }
    }

    public static let controlVariateColumns = ["seed", "step", "theta", "z", "relaxed", "f_relaxed", "r", "c"]

    public static func controlVariateRows(_ run: ToyRun) -> [[CSVValue]] {
        run.controlVariateSnapshots.flatMap { s in
            s.rows.map { [.integer(run.seed), .integer(s.step), .number(s.theta, places: 9), .number($0.z, places: 6), .number($0.relaxed, places: 6),
                          .number($0.f, places: 6), .number($0.r, places: 6), .number($0.c, places: 6)] }
        }
    }
}
