import Autodiff
import Estimators
import Experiments
import Foundation
import TestSupport
import Training
import VAE
import XCTest

/// `vae-train analyze`: the exact reference, the bias statistics' power, and whole runs of each family.
final class AnalyzeTests: XCTestCase {
    /// A tiny VAE whose decoder weights are scaled up so f is clearly non-linear in the code (straight-
    /// through is unbiased for f linear in z, so a near-linear freshly initialised decoder gives the
    /// negative control no power), and a random binary batch.
    func tinyProblem(_ latent: LatentSpec, batch: Int = 3, inputs: Int = 12, seed: UInt64 = 3) -> GradientProblem {
        var rng = RandomStream(seed: seed)
        let model = DiscreteVAE<Float>(shape: ModelShape(inputSize: inputs, encoderHidden: [8], decoderHidden: [16],
                                                         activation: .tanh, latent: latent), rng: &rng)
        for p in model.encoder.parameters + model.decoder.parameters {
            p.value = Tensor(shape: p.value.shape, scalars: p.value.scalars.map { $0 * 3 })
        }
        let x = Tensor<Float>(shape: [batch, inputs], scalars: (0..<(batch * inputs)).map { _ in rng.nextUnit() < 0.5 ? 0 : 1 })
        return GradientProblem(model: model, x: x)
    }

    /// ∂/∂l Σ_b E_q[f_b] by an explicit double loop over codes, in Double: ∂q(z)/∂l_{v,c} = q(z)(1[z_v = c] − p_{v,c})
    /// (categorical) and q(z)(z_n − σ(l_n)) (Bernoulli). Only f comes from the model.
    func bruteForce(_ problem: GradientProblem) -> (gradient: [Double], maxF: Double) {
        let latent = problem.latent, (L, C) = (latent.variables, latent.classes)
        let width = latent.codeWidth, inputs = problem.x.shape[1]
        let logits = problem.logits.scalars.map(Double.init), xs = problem.x.scalars
        var gradient = [Double](repeating: 0, count: logits.count), maxF = 0.0
        for b in 0..<problem.batchSize {
            let l = Array(logits[(b * width)..<((b + 1) * width)])
            let x = Tensor(shape: [1, inputs], scalars: Array(xs[(b * inputs)..<((b + 1) * inputs)]))
            // Per-variable probabilities.
            var p = [Double](repeating: 0, count: width)
            if latent.family == .categorical {
                for v in 0..<L {
                    let row = l[(v * C)..<((v + 1) * C)], m = row.max()!
                    let z = row.reduce(0) { $0 + Foundation.exp($1 - m) }
                    for c in 0..<C { p[v * C + c] = Foundation.exp(l[v * C + c] - m) / z }
                }
            } else {
                for n in 0..<L { p[n] = 1 / (1 + Foundation.exp(-l[n])) }
            }
            let codes = latent.family == .categorical ? Int(pow(Double(C), Double(L))) : 1 << L
            for r in 0..<codes {
                var digits = [Int](repeating: 0, count: L), rest = r
                for v in 0..<L { digits[v] = rest % C; rest /= C }
                var q = 1.0, code = [Float](repeating: 0, count: width)
                for v in 0..<L {
                    if latent.family == .categorical {
                        q *= p[v * C + digits[v]]
                        code[v * C + digits[v]] = 1
                    } else {
                        q *= digits[v] == 1 ? p[v] : 1 - p[v]
                        code[v] = Float(digits[v])
                    }
                }
                let f = Double(problem.model.reconstructionNLL(code: Variable(Tensor(shape: latent.logitShape(batch: 1), scalars: code)), x: x).value.scalar)
                maxF = max(maxF, abs(f))
                for j in 0..<width {
                    let indicator = latent.family == .categorical ? (digits[j / C] == j % C ? 1.0 : 0) : Double(digits[j])
                    gradient[b * width + j] += f * q * (indicator - p[j])
                }
            }
        }
        return (gradient, maxF)
    }

    // (a) The exact reference equals the brute-force sum.
    func testExactReferenceMatchesBruteForce() {
        for latent in [LatentSpec.categorical(2, 3), .bernoulli(3)] {
            let problem = tinyProblem(latent)
            let exact = Analysis.exactGradient(problem)
            let (brute, maxF) = bruteForce(problem)
            XCTAssertEqual(exact.count, brute.count)
            // The Float enumeration sums |codes| terms f·∂q with |∂q| ≤ 1, each rounded at ~1 ulp of f:
            // error ≲ codes · maxF · 2^-23 per entry; allow 4× that. A wrong factor (e.g. 2) is far outside.
            let codes = Double(latent.codeCount!)
            let tolerance = 4 * codes * maxF * Double(Float.ulpOfOne)
            let norm = sqrt(brute.reduce(0) { $0 + $1 * $1 })
            XCTAssertGreaterThan(norm, 100 * tolerance, "the test gradient must be far above rounding error")
            for (e, b) in zip(exact, brute) { XCTAssertEqual(e, b, accuracy: tolerance, "\(latent)") }
            var unused = RandomStream(seed: 99)
            let reference = Analysis.referenceGradient(problem, maxCodes: 4096, samples: 100, rng: &unused)
            XCTAssertEqual(reference.kind, "exact")
            XCTAssertEqual(reference.varianceOfMean, 0)
        }
    }

    // (b) An unbiased estimator's relative bias is within its SE; a biased one is clearly outside (power).
    func testBiasStatisticSeparatesUnbiasedFromBiased() throws {
        for latent in [LatentSpec.categorical(2, 3), .bernoulli(3)] {
            let problem = tinyProblem(latent)
            var rng = RandomStream(seed: 11)
            let reference = Analysis.referenceGradient(problem, maxCodes: 4096, samples: 100, rng: &rng)
            let reinforce = try EstimatorRegistry.make(EstimatorOptions(estimator: "reinforce", values: ["baseline": .string("none")]),
                                                       family: latent.family, scalar: Float.self)
            let draws = 2000, n = Double(draws)
            let unbiased = Analysis.measure(reinforce, on: problem, reference: reference, draws: draws, rng: &rng)
            // With m the mean error and V the trace of the sample covariance, rel_bias = ‖m‖/‖g‖ and (exact
            // reference) rel_bias_se = √(V/N)/‖g‖, so r² = N‖m‖²/V. For an unbiased estimator √N·m is
            // about N(0, Σ) with tr Σ ≈ V, so r² is a weighted mean of χ²₁ variables with mean 1; beyond
            // 16 the single-direction case has the heaviest tail (Székely & Bakirov 2003), so a correct
            // estimator fails r < k = 4 with probability at most P(χ²₁ > 16) = NormalTail.twoSided(4) = 6e-5.
            let k = 4.0, r = unbiased.relativeBias / unbiased.relativeBiasSE
            XCTAssertLessThan(r, k, "\(latent): REINFORCE \(unbiased)")
            // MSE ≈ variance: measure's mse is mean‖u_i‖² and V = Σ‖u_i − m‖²/(N − 1), so mse − V = ‖m‖² − V/N
            // = (r² − 1)·V/N identically (checked to Double rounding, ~1e-11 on values ~300; V with N in
            // place of N − 1 would be off by V/N ≈ 0.1). With r < k that bounds |mse − V| by (k² − 1)·V/N
            // = 0.0075·V at N = 2000, in place of a bare 20% (which only needed r < 20).
            XCTAssertEqual(unbiased.mse - unbiased.variance, (r * r - 1) * unbiased.variance / n, accuracy: 1e-9 * unbiased.variance)
            XCTAssertEqual(unbiased.mse, unbiased.variance, accuracy: (k * k - 1) * unbiased.variance / n, "unbiased: MSE ≈ variance")
            // cos(E[ĝ], g) = cos(g + m, g): over all m with ‖m‖ = ρ‖g‖, ρ = rel_bias < 1, the smallest is
            // √(1 − ρ²) (m ⟂ g + m), so this holds by geometry whatever the draws; at ρ ≥ 1 no bound
            // exists. The seeded draws give ρ = 0.87 (3x2) and 0.18 (3 bernoulli), so both checks are live
            // (they replace a bare 0.5/(1 + rel_bias_se), which was lower in both cases).
            let rho = unbiased.relativeBias
            XCTAssertGreaterThanOrEqual(unbiased.cosineOfMean, rho < 1 ? (1 - rho * rho).squareRoot() * (1 - 1e-9) : -1, "\(latent)")
            print("\(latent) reinforce:", unbiased)

            let st = try EstimatorRegistry.make(EstimatorOptions(estimator: "st"), family: latent.family, scalar: Float.self)
            let biased = Analysis.measure(st, on: problem, reference: reference, draws: draws, rng: &rng)
            // Power: ST must be rejected by a wide margin, r > 2k = 8, not at the edge; an unbiased
            // estimator gets there with probability ≤ P(χ²₁ > 64) ≈ 1e-15, so this shows ST's bias. The
            // seeded draws give r ≈ 36 (3x2) and 24 (3 bernoulli).
            XCTAssertGreaterThan(biased.relativeBias / biased.relativeBiasSE, 2 * k, "\(latent): ST \(biased)")
            XCTAssertGreaterThan(biased.relativeBiasDebiased, 0)
            print("\(latent) st:", biased)
            for s in [unbiased, biased] {
                XCTAssertGreaterThan(s.varianceSE, 0)
                // The jackknife SE of V is about V·√((κ − 1)/N), 1-2% of V here; one as large as V itself
                // would mean a broken jackknife, not bad luck.
                XCTAssertLessThan(s.varianceSE, s.variance, "the SE of the variance must be smaller than it")
                XCTAssertTrue(s.meanCosineSE.isFinite && s.cosineOfMeanSE.isFinite && s.millisecondsPerDraw > 0)
            }
        }
    }

    // MARK: - Whole runs

    func trainTinyRun(latent: String) throws -> String {
        let dir = temporaryDirectory()
        let text = TestRuns.configText(name: "a", trainLimit: 200, testLimit: 100, latent: latent,
                                       training: #"{"epochs": 1, "batch_size": 50, "seed": 5, "learning_rate": 0.003}"#)
        try Trainer(config: TestRuns.config(text), directory: dir, log: { _ in }).run()
        return dir
    }

    // (c) End to end on a checkpoint of each family, every supporting estimator, with tuning.
    func testAnalyzeRunsOnEachLatentFamily() throws {
        for (latent, family) in [(#"{"variables": 4, "classes": 8}"#, LatentFamily.categorical),
                                 (#"{"family": "bernoulli", "variables": 12}"#, .bernoulli)] {
            let dir = try trainTinyRun(latent: latent)
            var options = AnalysisOptions()
            options.draws = 20
            options.batchSize = 4
            options.tuneSteps = 2
            let rows = try Analysis.run(directory: dir, options: options, log: { _ in })
            let expected = EstimatorRegistry.all.filter { $0.families.contains(family) }.map { $0.name }
            var seen: [String] = []
            for row in rows where !seen.contains(row.estimator) { seen.append(row.estimator) }
            XCTAssertEqual(seen, expected)
            let csv = try readCSV(dir + "/analysis.csv")
            XCTAssertEqual(csv.header, AnalysisRow.columns)
            XCTAssertEqual(csv.rows.count, rows.count)
            let column = { (name: String) in csv.header.firstIndex(of: name)! }
            for row in csv.rows {
                XCTAssertEqual(row.count, AnalysisRow.columns.count)
                XCTAssertEqual(row[column("reference")], "exact", "4096 codes is within the default --max-codes")
                XCTAssertEqual(row[column("family")], family.rawValue)
                for name in ["grad_norm", "variance", "rel_std", "cos_single", "ms_per_draw"] {
                    XCTAssertNotNil(Double(row[column(name)]).flatMap { $0.isFinite ? $0 : nil }, "\(row[0]) \(name) = \(row[column(name)])")
                }
            }
            // Estimators with their own parameters get a second, tuned row.
            for name in ["rebar", "relax", "nvil"] where expected.contains(name) {
                XCTAssertEqual(rows.filter { $0.estimator == name }.map(\.tuned), [false, true], name)
            }
            XCTAssertEqual(rows.filter { $0.estimator == "st" }.map(\.tuned), [false])
        }
    }

    // (d) Beyond --max-codes the reference is a high-sample estimate with its own SE, folded into rel_bias_se.
    func testSampledReferenceBeyondMaxCodes() throws {
        let dir = try trainTinyRun(latent: #"{"variables": 4, "classes": 8}"#)
        var options = AnalysisOptions()
        options.estimators = ["reinforce", "st"]
        options.draws = 40
        options.batchSize = 4
        options.maxCodes = 100
        options.referenceSamples = 200
        let rows = try Analysis.run(directory: dir, options: options, log: { _ in })
        XCTAssertEqual(rows.map(\.estimator), ["reinforce", "st"])
        for row in rows {
            XCTAssertNotEqual(row.reference.kind, "exact")
            XCTAssertTrue(row.reference.kind.hasPrefix(EstimatorRegistry.names.contains("rloo") ? "rloo-" : "reinforce-"))
            XCTAssertGreaterThan(row.reference.relativeStandardError, 0)
            XCTAssertLessThan(row.reference.relativeStandardError, 1)
            XCTAssertGreaterThanOrEqual(row.statistics.relativeBiasSE,
                                        sqrt(row.reference.varianceOfMean) / row.reference.norm * (1 - 1e-12))
        }
        let csv = try readCSV(dir + "/analysis.csv")
        let se = csv.header.firstIndex(of: "reference_se")!
        XCTAssertTrue(csv.rows.allSatisfy { (Double($0[se]) ?? 0) > 0 })
    }

    func testClearErrors() throws {
        let missing = temporaryDirectory()
        XCTAssertThrowsError(try Analysis.run(directory: missing, options: AnalysisOptions(), log: { _ in })) {
            XCTAssertEqual($0 as? AnalysisError, .missingRun(missing))
        }
        let empty = try makeTemporaryDirectory()
        XCTAssertThrowsError(try Analysis.run(directory: empty, options: AnalysisOptions(), log: { _ in })) {
            XCTAssertEqual($0 as? AnalysisError, .missingCheckpoint(empty + "/checkpoint.bin"))
        }
        let dir = try trainTinyRun(latent: #"{"variables": 2, "classes": 4}"#)
        var options = AnalysisOptions()
        options.estimators = ["no-such-estimator"]
        XCTAssertThrowsError(try Analysis.run(directory: dir, options: options, log: { _ in })) {
            guard case .unknownEstimator("no-such-estimator", _)? = $0 as? EstimatorError else { return XCTFail("\($0)") }
        }
    }
}
