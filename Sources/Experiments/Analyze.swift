// Gradient diagnostics (`vae-train analyze`): how far each estimator's encoder-logit gradient is from
// the true one on a trained model — the numbers a researcher picks an estimator by.
//
// Setup: a run's checkpoint, a fixed batch x (the first `batch` training examples, binarised as the
// run does with a fixed seed), the trainer's own objective f_b(z) = −log p(x_b|z) and logits l(x).
// The target is g = ∂/∂l Σ_b E_{q_b}[f_b(z)] (the decoder fixed, only through the code), either exact
// by enumerating all codes (C^L ≤ maxCodes) or a high-sample RLOO estimate with its own error.
// Each estimator is drawn N times on the frozen model (Float, as in training); statistics are in Double.
//
// Statistics and their standard errors (u_i = ĝ_i − g, m = mean u, V = trace of the sample covariance):
//   rel_bias    = ‖m‖/‖g‖. Its "SE" is the RMS of ‖m‖ under sampling noise alone,
//                 sqrt(V/N + V_ref)/‖g‖ with V_ref = trace Cov(g_ref) (0 when exact). An unbiased
//                 estimator shows rel_bias ≈ rel_bias_se; it also bounds the delta-method SE
//                 sqrt(mᵀΣm/(N‖m‖²))/‖g‖ of a clearly biased one, so it is conservative. (Jackknife is
//                 not used here: ‖m‖ is not smooth at m = 0, exactly where the question is asked.)
//   rel_bias_debiased = sqrt(max(0, ‖m‖² − V/N − V_ref))/‖g‖: ‖m‖² minus its noise floor.
//   variance V, rel_std = sqrt(V)/‖g‖, mse = mean ‖u_i‖² − V_ref (= ‖bias‖² + V; the reference's own
//   noise adds V_ref to E‖ĝ − g_ref‖² and is subtracted), cos_mean = cos(E[ĝ], g), cos_single =
//   mean_i cos(ĝ_i, g), ms_per_draw: standard errors by the delete-a-group jackknife over 10 contiguous
//   groups of draws (for means this is the batch-means SE; for V, rel_std and cos_mean it is the
//   jackknife of a smooth function of group sums).
import Autodiff
import Estimators
import Foundation
import Training
import VAE

public enum AnalysisError: Error, CustomStringConvertible, Equatable {
    case missingRun(String)
    case missingCheckpoint(String)
    case unsupported(estimator: String, family: LatentFamily)
    case invalid(String)

    public var description: String {
        switch self {
        case let .missingRun(path): return "run directory \(path) does not exist"
        case let .missingCheckpoint(path):
            return "no checkpoint at \(path); analyze needs a run trained with output.checkpoint = true"
        case let .unsupported(estimator, family): return "estimator '\(estimator)' is not defined for \(family.rawValue) latents"
        case let .invalid(message): return message
        }
    }
}

public struct AnalysisOptions: Sendable, Equatable {
    /// Estimator names; nil = every registered estimator that supports the run's latent family.
    public var estimators: [String]?
    public var draws = 1000
    public var batchSize = 16
    /// Enumerate exactly when the number of codes C^L (2^N) is at most this.
    public var maxCodes = 4096
    /// Total samples per example for the sampled (RLOO) reference.
    public var referenceSamples = 20000
    /// Steps of Adam on estimators' own parameters (auxiliary loss) before a second measurement.
    public var tuneSteps = 0
    /// Learning rate for tuning; nil = the run's learning rate × the estimator's parameter scale.
    public var tuneLearningRate: Double?
    public var seed = 1
    /// Groups for the jackknife standard errors.
    public var groups = 10

    public init() {}
}


/// The reference gradient g (flattened logits order) and how precise it is.
public struct ReferenceGradient: Sendable {
    public var gradient: [Double]
    /// "exact" or e.g. "rloo-2000" (estimator and samples per example).
    public var kind: String
    /// trace Cov(g_ref): the expected squared error ‖g_ref − g‖² (0 when exact).
    public var varianceOfMean: Double

    public var norm: Double { sqrt(gradient.reduce(0) { $0 + $1 * $1 }) }
    /// sqrt(trace Cov(g_ref))/‖g_ref‖: the relative standard error of the reference.
    public var relativeStandardError: Double { sqrt(varianceOfMean) / norm }
    public var isExact: Bool { varianceOfMean == 0 && kind == "exact" }
}

/// Statistics of N draws against a reference, each with its standard error (see the file header).
public struct DrawStatistics: Sendable {
    public var draws: Int
    public var relativeBias: Double, relativeBiasSE: Double, relativeBiasDebiased: Double
    public var variance: Double, varianceSE: Double
    public var relativeStd: Double, relativeStdSE: Double
    public var mse: Double, mseSE: Double
    public var cosineOfMean: Double, cosineOfMeanSE: Double
    public var meanCosine: Double, meanCosineSE: Double
    public var millisecondsPerDraw: Double, millisecondsPerDrawSE: Double
    /// The surrogate carries its own objective (multi-sample bound with KL, e.g. VIMCO): g is not its target.
    public var includesKL: Bool
}

public struct AnalysisRow: Sendable {
    public var estimator: String
    /// Options as `key=value` pairs joined by ';' (empty = defaults).
    public var options: String
    public var tuned: Bool
    public var epoch: Int
    public var latent: LatentSpec
    public var batchSize: Int
    public var reference: ReferenceGradient
    public var statistics: DrawStatistics

    public static let columns = [
        "estimator", "options", "tuned", "objective", "epoch", "family", "latent", "batch", "draws",
        "reference", "reference_se", "grad_norm",
        "rel_bias", "rel_bias_se", "rel_bias_debiased", "variance", "variance_se", "rel_std", "rel_std_se",
        "mse", "mse_se", "cos_mean", "cos_mean_se", "cos_single", "cos_single_se", "ms_per_draw", "ms_per_draw_se",
    ]

    public var csvRow: String { CSVTable.line(cells) }

    /// Relative statistics and cosines with 6 places; variances and MSEs (squared gradient norms, which span
    /// many orders of magnitude) with 9; milliseconds with 4.
    var cells: [CSVValue] {
        func f(_ x: Double) -> CSVValue { .number(x, places: 6) }
        func squared(_ x: Double) -> CSVValue { .number(x, places: 9) }
        let s = statistics
        // The ReinMax naming, classes x variables ("4x24"); the unit count for Bernoulli latents.
        let shape = latent.family == .categorical ? "\(latent.classes)x\(latent.variables)" : "\(latent.variables)"
        return [.text(estimator), .text(options), .integer(tuned ? 1 : 0), .text(s.includesKL ? "bound" : "recon"), .integer(epoch),
                .text(latent.family.rawValue), .text(shape), .integer(batchSize), .integer(s.draws),
                .text(reference.kind), f(reference.relativeStandardError), f(reference.norm),
                f(s.relativeBias), f(s.relativeBiasSE), f(s.relativeBiasDebiased), squared(s.variance), squared(s.varianceSE),
                f(s.relativeStd), f(s.relativeStdSE), squared(s.mse), squared(s.mseSE), f(s.cosineOfMean), f(s.cosineOfMeanSE),
                f(s.meanCosine), f(s.meanCosineSE), .number(s.millisecondsPerDraw, places: 4), .number(s.millisecondsPerDrawSE, places: 4)]
    }
}

public enum Analysis {
    // MARK: - Whole runs

    /// Analyses the checkpoint in `directory` and writes `analysis.csv` there.
    @discardableResult
    public static func run(directory: String, options: AnalysisOptions,
                           log: @escaping (String) -> Void = { print($0) }) throws -> [AnalysisRow] {
        guard options.draws >= 2 * options.groups, options.groups >= 2 else {
            throw AnalysisError.invalid("--draws must be at least \(2 * max(options.groups, 2)) (two per jackknife group)")
        }
        guard options.batchSize >= 1, options.maxCodes >= 1, options.referenceSamples >= 2, options.tuneSteps >= 0 else {
            throw AnalysisError.invalid("--batch, --max-codes must be >= 1, reference samples >= 2, --tune-steps >= 0")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AnalysisError.missingRun(directory)
        }
        let checkpointPath = (directory as NSString).appendingPathComponent("checkpoint.bin")
        guard FileManager.default.fileExists(atPath: checkpointPath) else { throw AnalysisError.missingCheckpoint(checkpointPath) }
        // The checkpoint carries the exact configuration it was written under (config.json adds provenance).
        let (header, _) = try Checkpoint.read(from: checkpointPath)
        let config = try RunConfig(json: JSON.parse(Data(header.configJSON.utf8)))
        let family = config.latent.spec.family

        // Resolve the estimator list before the (possibly slow) data loading, so typos fail fast.
        let names = options.estimators ?? EstimatorRegistry.all.filter { $0.families.contains(family) }.map { $0.name }
        for name in names {
            let entry = try EstimatorRegistry.entry(named: name)
            guard entry.families.contains(family) else { throw AnalysisError.unsupported(estimator: name, family: family) }
        }
        guard !names.isEmpty else { throw AnalysisError.invalid("no estimators to analyse") }

        let trainer = try Trainer(config: config, directory: directory, log: log)
        try trainer.restore()
        var root = RandomStream(seed: UInt64(options.seed))
        var batchStream = root.split(), referenceStream = root.split(), tuneStream = root.split()
        let count = min(options.batchSize, trainer.trainSet.count)
        let problem = GradientProblem(model: trainer.model, x: trainer.batch(trainer.trainSet, 0..<count, stream: &batchStream))

        let clock = Date()
        let reference = referenceGradient(problem, maxCodes: options.maxCodes, samples: options.referenceSamples,
                                           rng: &referenceStream)
        log(String(format: "reference: %@ (‖g‖ = %.4g, relative SE %.3g) in %.1fs", reference.kind, reference.norm,
                   reference.relativeStandardError, Date().timeIntervalSince(clock)))

        var rows: [AnalysisRow] = []
        for name in names {
            let (estimator, optionText, fromRun) = try makeEstimator(name, trainer: trainer)
            var rng = estimatorStream(seed: options.seed, name: name)
            // A stateful estimator built fresh (e.g. a moving-average baseline at 0) first adapts its state.
            if !fromRun, !estimator.persistentState.isEmpty {
                for _ in 0..<min(50, options.draws) { _ = problem.draw(estimator, rng: &rng) }
            }
            func measureRow(tuned: Bool) {
                let clock = Date()
                let s = measure(estimator, on: problem, reference: reference, draws: options.draws,
                                groups: options.groups, rng: &rng)
                rows.append(AnalysisRow(estimator: name, options: optionText, tuned: tuned, epoch: header.epoch,
                                        latent: config.latent.spec, batchSize: count, reference: reference, statistics: s))
                log(String(format: "%@%@: rel bias %.3g ± %.2g, rel std %.3g, cos %.3f (%.1fs)%@", name, tuned ? " (tuned)" : "",
                           s.relativeBias, s.relativeBiasSE, s.relativeStd, s.cosineOfMean, Date().timeIntervalSince(clock),
                           s.includesKL ? "  [estimates a multi-sample bound incl. KL, not E_q[f]: bias is not comparable]" : ""))
            }
            measureRow(tuned: false)
            if options.tuneSteps > 0, !estimator.parameters.isEmpty {
                let rate = options.tuneLearningRate
                    ?? config.training.learningRate * Double(estimator.parameterLearningRateScale)
                try tune(estimator, trainer: trainer, batchSize: count, steps: options.tuneSteps,
                         learningRate: rate, rng: &tuneStream)
                measureRow(tuned: true)
            }
        }
        try writeAnalysisCSV(rows, to: (directory as NSString).appendingPathComponent("analysis.csv"))
        return rows
    }

    /// The run's own estimator instance (trained parameters and state) when the name matches, else a
    /// fresh one with default options and the model's sizes. The options text lists the sizes it was built with.
    static func makeEstimator(_ name: String, trainer: Trainer) throws -> (any GradientEstimator<Float>, String, Bool) {
        let sizes = ModelSizes(trainer.model.shape)
        func text(_ o: EstimatorOptions) -> String {
            let values = EstimatorRegistry.resolvedValues(o, sizes: sizes)
            return values.keys.sorted().map { "\($0)=\(values[$0]!.description.replacingOccurrences(of: "\"", with: ""))" }
                .joined(separator: ";")
        }
        if name == trainer.config.estimator.estimator { return (trainer.estimator, text(trainer.config.estimator), true) }
        let options = EstimatorOptions(estimator: name)
        let family = trainer.model.latent.family
        return (try EstimatorRegistry.make(options, sizes: sizes, family: family, scalar: Float.self), text(options), false)
    }

    /// A stream per estimator that does not depend on which other estimators are analysed.
    static func estimatorStream(seed: Int, name: String) -> RandomStream {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return RandomStream(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 ^ hash)
    }

    // MARK: - Reference

    /// Exact when the code space has at most `maxCodes` codes, else `samples` RLOO samples per example
    /// (REINFORCE without baseline if RLOO is not registered).
    public static func referenceGradient(_ problem: GradientProblem, maxCodes: Int, samples: Int,
                                         rng: inout RandomStream) -> ReferenceGradient {
        if let codes = problem.latent.codeCount, codes <= maxCodes {
            return ReferenceGradient(gradient: exactGradient(problem), kind: "exact", varianceOfMean: 0)
        }
        return sampledReference(problem, samples: samples, rng: &rng)
    }

    /// g by enumeration (ExactExpectation), one example at a time so memory stays at C^L decoder rows.
    public static func exactGradient(_ problem: GradientProblem) -> [Double] {
        let width = problem.latent.codeWidth, inputs = problem.x.shape[1]
        let xs = problem.x.scalars, ls = problem.logits.scalars
        var result: [Double] = []
        result.reserveCapacity(ls.count)
        for b in 0..<problem.batchSize {
            let x = Tensor(shape: [1, inputs], scalars: Array(xs[(b * inputs)..<((b + 1) * inputs)]))
            let logits = Tensor(shape: problem.latent.logitShape(batch: 1), scalars: Array(ls[(b * width)..<((b + 1) * width)]))
            let context = EstimatorContext(model: problem.model, logits: Variable(logits), x: x)
            result += ExactExpectation.logitGradient(context).scalars.map(Double.init)
        }
        return result
    }

    /// A high-sample unbiased estimate: R draws of RLOO with M samples each (R·M ≈ `samples`), whose
    /// mean is g_ref and whose per-coordinate spread gives trace Cov(g_ref) = Σ_j s_j²/R.
    public static func sampledReference(_ problem: GradientProblem, samples: Int, rng: inout RandomStream) -> ReferenceGradient {
        let useRLOO = EstimatorRegistry.names.contains("rloo")
        let perDraw = useRLOO ? max(2, min(100, samples / 20)) : 1
        let draws = max(10, (samples + perDraw - 1) / perDraw)
        let options = useRLOO ? EstimatorOptions(estimator: "rloo", values: ["samples": .number(Double(perDraw))])
                              : EstimatorOptions(estimator: "reinforce", values: ["baseline": .string("none")])
        // Registered names are checked above; a failure here is a registry bug.
        let estimator = try! EstimatorRegistry.make(options, family: problem.latent.family, scalar: Float.self)
        let d = problem.logits.count
        var sum = [Double](repeating: 0, count: d), sumSquares = sum
        for _ in 0..<draws {
            let g = problem.draw(estimator, rng: &rng).gradient
            g.withUnsafeBufferPointer { p in
                for j in 0..<d { let v = Double(p[j]); sum[j] += v; sumSquares[j] += v * v }
            }
        }
        let n = Double(draws)
        let mean = sum.map { $0 / n }
        var traceOfMean = 0.0
        for j in 0..<d { traceOfMean += max(0, sumSquares[j] - n * mean[j] * mean[j]) / (n - 1) / n }
        return ReferenceGradient(gradient: mean, kind: "\(useRLOO ? "rloo" : "reinforce")-\(draws * perDraw)",
                                 varianceOfMean: traceOfMean)
    }

    // MARK: - Measuring

    /// N draws of `estimator` on `problem`, compared with `reference` (see the file header for the SEs).
    public static func measure(_ estimator: any GradientEstimator<Float>, on problem: GradientProblem,
                               reference: ReferenceGradient, draws: Int, groups: Int = 10,
                               rng: inout RandomStream) -> DrawStatistics {
        precondition(groups >= 2 && draws >= 2 * groups, "need at least two draws per group: draws \(draws), groups \(groups)")
        let g = reference.gradient, d = g.count
        precondition(problem.logits.count == d, "reference has \(d) entries, logits \(problem.logits.count)")
        let gNormSquared = g.reduce(0) { $0 + $1 * $1 }, gNorm = sqrt(gNormSquared)
        // Per group: Σu (u = ĝ − g), Σ‖u‖², Σ cos(ĝ, g), Σ seconds, count.
        var sumU = [[Double]](repeating: [Double](repeating: 0, count: d), count: groups)
        var sumUU = [Double](repeating: 0, count: groups), sumCos = sumUU, sumTime = sumUU, counts = sumUU
        var includesKL = false
        for i in 0..<draws {
            let k = i * groups / draws
            let (estimate, seconds, kl) = problem.draw(estimator, rng: &rng)
            includesKL = includesKL || kl
            var uu = 0.0, dot = 0.0, ee = 0.0
            estimate.withUnsafeBufferPointer { p in
                sumU[k].withUnsafeMutableBufferPointer { s in
                    for j in 0..<d {
                        let e = Double(p[j]), u = e - g[j]
                        s[j] += u
                        uu += u * u
                        dot += e * g[j]
                        ee += e * e
                    }
                }
            }
            sumUU[k] += uu
            sumCos[k] += ee > 0 && gNormSquared > 0 ? dot / sqrt(ee * gNormSquared) : 0
            sumTime[k] += seconds
            counts[k] += 1
        }

        // The statistics as smooth functions of (pooled) group sums, for the full sample and the jackknife.
        struct Point { var variance, relativeStd, mse, cosineOfMean, meanCosine, ms, biasSquared: Double }
        func point(excluding excluded: Int?) -> Point {
            var n = 0.0, su = [Double](repeating: 0, count: d), suu = 0.0, sc = 0.0, st = 0.0
            for k in 0..<groups where k != excluded {
                n += counts[k]; suu += sumUU[k]; sc += sumCos[k]; st += sumTime[k]
                for j in 0..<d { su[j] += sumU[k][j] }
            }
            var mm = 0.0, meanDot = 0.0
            for j in 0..<d {
                let m = su[j] / n
                mm += m * m
                meanDot += (m + g[j]) * g[j]
            }
            let variance = max(0, suu - n * mm) / (n - 1)
            let meanNormSquared = mm + 2 * (meanDot - gNormSquared) + gNormSquared  // ‖m + g‖²
            return Point(variance: variance, relativeStd: sqrt(variance) / gNorm,
                         mse: suu / n - reference.varianceOfMean,
                         cosineOfMean: meanNormSquared > 0 && gNormSquared > 0 ? meanDot / sqrt(meanNormSquared * gNormSquared) : 0,
                         meanCosine: sc / n, ms: st / n * 1000, biasSquared: mm)
        }
        let full = point(excluding: nil)
        let leaveOut = (0..<groups).map { point(excluding: $0) }
        func jackknife(_ key: KeyPath<Point, Double>) -> Double {
            let values = leaveOut.map { $0[keyPath: key] }
            let mean = values.reduce(0, +) / Double(groups)
            return sqrt(Double(groups - 1) / Double(groups) * values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) })
        }
        let n = Double(draws)
        let noiseFloor = full.variance / n + reference.varianceOfMean
        return DrawStatistics(
            draws: draws,
            relativeBias: sqrt(full.biasSquared) / gNorm, relativeBiasSE: sqrt(noiseFloor) / gNorm,
            relativeBiasDebiased: sqrt(max(0, full.biasSquared - noiseFloor)) / gNorm,
            variance: full.variance, varianceSE: jackknife(\.variance),
            relativeStd: full.relativeStd, relativeStdSE: jackknife(\.relativeStd),
            mse: full.mse, mseSE: jackknife(\.mse),
            cosineOfMean: full.cosineOfMean, cosineOfMeanSE: jackknife(\.cosineOfMean),
            meanCosine: full.meanCosine, meanCosineSE: jackknife(\.meanCosine),
            millisecondsPerDraw: full.ms, millisecondsPerDrawSE: jackknife(\.ms),
            includesKL: includesKL)
    }

    // MARK: - Tuning

    /// Minimises the estimator's auxiliary loss (its variance surrogate) with Adam on the frozen model,
    /// over random training batches of the analysis batch size.
    static func tune(_ estimator: any GradientEstimator<Float>, trainer: Trainer, batchSize: Int, steps: Int,
                     learningRate: Double, rng: inout RandomStream) throws {
        let parameters = estimator.parameters
        let optimizer = Optimizer(kind: .adam, parameters: parameters, learningRate: Float(learningRate))
        let n = trainer.trainSet.count
        for step in 1...steps {
            let indices = (0..<batchSize).map { _ in Int(rng.next() % UInt64(n)) }
            let problem = GradientProblem(model: trainer.model, x: trainer.batch(trainer.trainSet, indices, stream: &rng))
            let leaf = Variable(problem.logits, requiresGradient: true)
            guard let auxiliary = estimator.estimate(problem.context(leaf), rng: &rng).auxiliaryLoss else { return }
            let grads = gradients(of: auxiliary, wrt: parameters).map(\.value)
            guard grads.allSatisfy(\.isFinite) else {
                throw TrainingError.nonFinite(epoch: 0, step: step, what: "\(estimator.name)'s parameter gradient while tuning")
            }
            optimizer.step(parameters, gradients: grads)
        }
    }

    // MARK: - Output

    public static func writeAnalysisCSV(_ rows: [AnalysisRow], to path: String) throws {
        var table = CSVTable(columns: AnalysisRow.columns)
        for row in rows { table.append(row.cells) }
        try table.write(to: path)
    }

    /// A fixed-width table of the main columns (value ± SE), for the terminal.
    public static func table(_ rows: [AnalysisRow]) -> String {
        func pm(_ x: Double, _ se: Double) -> String { String(format: "%.3g ± %.2g", x, se) }
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        let header = ["estimator", "tuned", "rel_bias", "variance", "rel_std", "mse", "cos_mean", "cos_single", "ms/draw"]
        let widths = [12, 6, 20, 22, 20, 22, 20, 20, 16]
        var lines = [zip(header, widths).map { pad($0, $1) }.joined()]
        for row in rows {
            let s = row.statistics
            let cells = [row.estimator + (s.includesKL ? "*" : ""), row.tuned ? "yes" : "no",
                         pm(s.relativeBias, s.relativeBiasSE), pm(s.variance, s.varianceSE), pm(s.relativeStd, s.relativeStdSE),
                         pm(s.mse, s.mseSE), pm(s.cosineOfMean, s.cosineOfMeanSE), pm(s.meanCosine, s.meanCosineSE),
                         pm(s.millisecondsPerDraw, s.millisecondsPerDrawSE)]
            lines.append(zip(cells, widths).map { pad($0, $1) }.joined())
        }
        if let r = rows.first {
            lines.append(String(format: "reference: %@, ‖g‖ = %.4g, relative SE %.3g; batch %d, %d draws, checkpoint epoch %d",
                                r.reference.kind, r.reference.norm, r.reference.relativeStandardError, r.batchSize,
                                r.statistics.draws, r.epoch))
        }
        if rows.contains(where: { $0.statistics.includesKL }) {
            lines.append("* estimates the gradient of its own multi-sample bound (with KL), not of E_q[f]: its bias is not comparable")
        }
        return lines.joined(separator: "\n")
    }
}
