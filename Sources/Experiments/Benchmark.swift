// `vae-train bench`: training-step throughput, measured against the BLAS-bound ideal in the same run.
//
// The ideal is the time of exactly the matrix products one training step performs (forward x·W for
// every layer, backward g·Wᵀ where an input gradient is needed and xᵀ·g for every weight), timed by
// calling sgemm with those shapes back to back. ratio = measured step time / that ideal: 1.0 would
// mean everything but the gemms is free.
import Autodiff
import Estimators
import Foundation
import Training
import VAE

public struct BenchmarkRow: Sendable {
    public var latent: String
    public var estimator: String
    public var millisecondsPerStep: Double
    public var stepsPerSecond: Double { 1000 / millisecondsPerStep }
    public var gemmMillisecondsPerStep: Double
    public var ratioToGemm: Double { millisecondsPerStep / gemmMillisecondsPerStep }
    /// The optimizer update alone (Adam reads and writes 28 bytes per parameter: memory-bound, no gemm).
    public var optimizerMillisecondsPerStep: Double
    /// The ratio without the optimizer update: estimator + forward + backward against their gemms.
    public var ratioWithoutOptimizer: Double { (millisecondsPerStep - optimizerMillisecondsPerStep) / gemmMillisecondsPerStep }
    /// Step time relative to `st` on the same latent shape.
    public var relativeToST: Double?
    /// Where a step's time goes (ms per step, exclusive, from separately profiled steps): matrix
    /// products, elementwise/fused kernels, optimizer, the estimator's own work, and the rest (graph
    /// bookkeeping, allocation, batching, finiteness checks).
    public var breakdown = StepBreakdown()
}

public struct StepBreakdown: Sendable {
    public var gemm = 0.0, elementwise = 0.0, optimizer = 0.0, estimator = 0.0, other = 0.0
    /// Tensor buffers allocated per step.
    public var allocations = 0.0

    public var summary: String {
        String(format: "gemm %.2f + elementwise %.2f + optimizer %.2f + estimator %.2f + other %.2f ms; %.0f allocations/step",
               gemm, elementwise, optimizer, estimator, other, allocations)
    }
}

public enum Benchmark {
    /// The CPU's model name (/proc/cpuinfo), or "unknown CPU".
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let value = line.split(separator: ":", maxSplits: 1).last else { return "unknown CPU" }
        var model = value.trimmingCharacters(in: .whitespaces)
        if let family = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu family") })?.split(separator: ":").last {
            model += " (family \(family.trimmingCharacters(in: .whitespaces)))"
        }
        return model
    }

    /// The gemm shapes (m, n, k) of one training step of an MLP VAE with batch `batch`.
    public static func gemmShapes(_ shape: ModelShape, batch: Int) -> [(Int, Int, Int)] {
        var shapes: [(Int, Int, Int)] = []
        func mlp(_ sizes: [Int], inputNeedsGradient: Bool) {
            for i in 0..<(sizes.count - 1) {
                let (input, output) = (sizes[i], sizes[i + 1])
                shapes.append((batch, output, input))                  // forward x·W
                shapes.append((input, output, batch))                  // weight gradient xᵀ·g
                if i > 0 || inputNeedsGradient { shapes.append((batch, input, output)) }  // input gradient g·Wᵀ
            }
        }
        let logitWidth = shape.latent.family == .categorical ? shape.latent.variables * shape.latent.classes : shape.latent.variables
        mlp([shape.inputSize] + shape.encoderHidden + [logitWidth], inputNeedsGradient: false)
        mlp([shape.latent.codeWidth] + shape.decoderHidden + [shape.inputSize], inputNeedsGradient: true)
        return shapes
    }

    /// Milliseconds for one pass over `shapes` with sgemm (median of `repeats` passes).
    static func gemmMilliseconds(_ shapes: [(Int, Int, Int)], repeats: Int) -> Double {
        var rng = RandomStream(seed: 1)
        let operands = shapes.map { (m, n, k) in
            (Tensor<Float>.uniform([m, k], using: &rng), Tensor<Float>.uniform([k, n], using: &rng))
        }
        var times: [Double] = []
        for _ in 0..<(repeats + 3) {
            let start = DispatchTime.now().uptimeNanoseconds
            for (a, b) in operands { _ = Tensor.matmul(a, b) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.dropFirst(3).sorted()[repeats / 2]
    }

    /// Milliseconds for one optimizer update of the model's parameters (median of `repeats`), on a
    /// throwaway optimizer so the trainer's state is untouched.
    static func optimizerMilliseconds(_ trainer: Trainer, repeats: Int) -> Double {
        let parameters = trainer.model.parameters.map { Variable($0.value, requiresGradient: true) }
        let optimizer = Optimizer(kind: trainer.config.training.optimizer, parameters: parameters,
                                  learningRate: Float(trainer.config.training.learningRate))
        let grads = parameters.map { Tensor<Float>(repeating: 1e-3, shape: $0.shape) }
        var times: [Double] = []
        for _ in 0..<(repeats + 3) {
            let start = DispatchTime.now().uptimeNanoseconds
            optimizer.step(parameters, gradients: grads)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.dropFirst(3).sorted()[repeats / 2]
    }

    /// Times `steps` training steps (after warm-up) for each latent shape and estimator setting.
    /// Times training steps for each latent shape and estimator setting. The settings of one shape
    /// are measured in interleaved rounds (each round times every setting, the sgemm-only pass and
    /// the optimizer update once), and each figure is the median over rounds, so drift of the
    /// machine's speed during the run does not favour whichever setting happened to run first.
    public static func run(latents: [LatentSpec], estimators: [EstimatorOptions], batch: Int = 100, steps: Int = 60,
                           rounds: Int = 5, data: (Dataset, Dataset), threads: Int = 1,
                           log: (String) -> Void = { print($0) }) throws -> [BenchmarkRow] {
        BLASInfo.setThreads(threads)
        var rows: [BenchmarkRow] = []
        let stepsPerRound = max(1, steps / rounds)
        for latent in latents {
            struct Setting { let label: String; let trainer: Trainer; let batches: [Tensor<Float>]; var times: [Double] }
            var settings: [Setting] = []
            var modelShape = RunConfig().modelShape
            for options in estimators {
                let name = options.estimator
                guard (try? EstimatorRegistry.entry(named: name))?.families.contains(latent.family) == true else { continue }
                let label = ([name] + options.values.keys.sorted().map { "\($0)=\(options.values[$0]!)" }).joined(separator: ":")
                var config = RunConfig()
                config.latent.spec = latent
                config.estimator = options
                config.training.batchSize = batch
                config.training.threads = threads
                config.output.checkpoint = false
                modelShape = config.modelShape
                let trainer = try Trainer(config: config, directory: NSTemporaryDirectory(), datasets: data, log: { _ in })
                trainer.reduceAllocatorChurn()
                var stream = RandomStream(seed: 9)
                let batches = (0..<8).map { i in trainer.batch(data.0, (i * batch)..<((i + 1) * batch), stream: &stream) }
                for i in 0..<3 { try trainer.trainStep(batches[i % batches.count]) }
                settings.append(Setting(label: label, trainer: trainer, batches: batches, times: []))
            }
            guard let first = settings.first else { continue }
            let shapes = gemmShapes(modelShape, batch: batch)
            var gemmTimes: [Double] = [], updateTimes: [Double] = []
            for round in 0..<rounds {
                for index in settings.indices {
                    let setting = settings[index]
                    let start = DispatchTime.now().uptimeNanoseconds
                    for i in 0..<stepsPerRound { try setting.trainer.trainStep(setting.batches[i % setting.batches.count]) }
                    settings[index].times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(stepsPerRound))
                }
                gemmTimes.append(gemmMilliseconds(shapes, repeats: 5))
                updateTimes.append(optimizerMilliseconds(first.trainer, repeats: 5))
                log("  \(latent) round \(round + 1)/\(rounds): " + settings.map { String(format: "%@ %.2f", $0.label, $0.times.last!) }
                        .joined(separator: ", ") + String(format: " ms/step; gemm-only %.2f ms", gemmTimes.last!))
            }
            // Per-step breakdown: the same steps once more with the profiler on (its cost, two clock reads
            // per kernel call, is kept out of the timed rounds above).
            var breakdowns: [String: StepBreakdown] = [:]
            for setting in settings {
                let n = max(stepsPerRound, 5)
                Profile.start()
                let start = DispatchTime.now().uptimeNanoseconds
                for i in 0..<n { try setting.trainer.trainStep(setting.batches[i % setting.batches.count]) }
                let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(n)
                let (seconds, allocations) = Profile.stop()
                func ms(_ part: Profile.Part) -> Double { (seconds[part] ?? 0) * 1000 / Double(n) }
                var b = StepBreakdown(gemm: ms(.gemm), elementwise: ms(.elementwise), optimizer: ms(.optimizer),
                                      estimator: ms(.estimator), other: 0, allocations: Double(allocations) / Double(n))
                b.other = max(0, total - b.gemm - b.elementwise - b.optimizer - b.estimator)
                breakdowns[setting.label] = b
            }
            func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
            let gemm = median(gemmTimes), update = median(updateTimes)
            let stTime = settings.first { $0.label == "st" }.map { median($0.times) }
            for setting in settings {
                let ms = median(setting.times)
                let row = BenchmarkRow(latent: latent.description, estimator: setting.label, millisecondsPerStep: ms,
                                       gemmMillisecondsPerStep: gemm, optimizerMillisecondsPerStep: update,
                                       relativeToST: stTime.map { ms / $0 }, breakdown: breakdowns[setting.label] ?? StepBreakdown())
                log(String(format: "%-6@ %-24@ %8.2f ms/step %6.1f steps/s  gemm-only %6.2f ms  ratio %5.2f  (Adam %5.2f ms; without it %5.2f)  vs st %@",
                           row.latent, row.estimator, row.millisecondsPerStep, row.stepsPerSecond, row.gemmMillisecondsPerStep,
                           row.ratioToGemm, row.optimizerMillisecondsPerStep, row.ratioWithoutOptimizer,
                           row.relativeToST.map { String(format: "%.2fx", $0) } ?? "-"))
                log("       " + row.breakdown.summary)
                rows.append(row)
            }
        }
        return rows
    }
}

extension Benchmark {
    /// The settings `vae-train bench` times: each named estimator (nil: all, `st` first) at its defaults, and
    /// each estimator with a `samples` option also at every K in `samples`.
    public static func settings(estimators names: [String]?, samples: [Int]) throws -> [EstimatorOptions] {
        let names = names ?? ["st"] + EstimatorRegistry.names.filter { $0 != "st" }
        var settings: [EstimatorOptions] = []
        for name in names {
            settings.append(EstimatorOptions(estimator: name))
            if try EstimatorRegistry.entry(named: name).optionKeys.contains("samples") {
                for k in samples { settings.append(EstimatorOptions(estimator: name, values: ["samples": .number(Double(k))])) }
            }
        }
        return settings
    }

    /// The rows as `vae-train bench --csv` writes them.
    public static func csv(_ rows: [BenchmarkRow], threads: Int) -> String {
        var table = CSVTable(columns: ["latent", "estimator", "threads", "ms_per_step", "steps_per_sec", "gemm_ms_per_step", "ratio_to_gemm",
                                       "optimizer_ms_per_step", "ratio_without_optimizer", "relative_to_st", "step_gemm_ms",
                                       "step_elementwise_ms", "step_optimizer_ms", "step_estimator_ms", "step_other_ms", "allocations_per_step"])
        for r in rows {
            let b = r.breakdown
            table.append([.text(r.latent), .text(r.estimator), .integer(threads), .number(r.millisecondsPerStep, places: 3),
                          .number(r.stepsPerSecond, places: 2), .number(r.gemmMillisecondsPerStep, places: 3), .number(r.ratioToGemm, places: 3),
                          .number(r.optimizerMillisecondsPerStep, places: 3), .number(r.ratioWithoutOptimizer, places: 3),
                          .number(r.relativeToST, places: 3), .number(b.gemm, places: 3), .number(b.elementwise, places: 3),
                          .number(b.optimizer, places: 3), .number(b.estimator, places: 3), .number(b.other, places: 3),
                          .number(b.allocations, places: 0)])
        }
        return table.text
    }
}

extension Benchmark {
    /// One layer's products at one input density: microseconds for x·W plus the weight gradient xᵀ·g,
    /// dense (sgemm) and sparse (`SparseRows`: counting, building, transposing and both products).
    public struct SparseComparison: Sendable {
        public var inputs: Int, width: Int, density: Double, denseMicroseconds: Double, sparseMicroseconds: Double
        public var ratio: Double { sparseMicroseconds / denseMicroseconds }
    }

    /// Where the sparse path pays (`SparseRows.maximumDensity`): for a random [batch, inputs] x of each
    /// density (nonzeros in ±[0.1, 1]) and each layer width, the two ways of computing a first layer's
    /// products, interleaved over `rounds` rounds of `repeats` each; each figure is the median round.
    public static func sparseVersusDense(inputs: Int = 784, widths: [Int], densities: [Double], batch: Int = 100,
                                         rounds: Int = 5, repeats: Int = 40,
                                         log: (String) -> Void = { print($0) }) -> [SparseComparison] {
        var rng = RandomStream(seed: 11)
        var results: [SparseComparison] = []
        for width in widths {
            let w = Tensor<Float>.uniform([inputs, width], using: &rng), g = Tensor<Float>.uniform([batch, width], using: &rng)
            for density in densities {
                let x = Tensor<Float>(shape: [batch, inputs], scalars: (0..<(batch * inputs)).map { _ in
                    rng.nextUnit() < density ? Float(0.1 + 0.9 * rng.nextUnit()) : 0
                })
                var dense: [Double] = [], sparse: [Double] = []
                for _ in 0..<rounds {
                    var start = DispatchTime.now().uptimeNanoseconds
                    for _ in 0..<repeats {
                        _ = Tensor.matmul(x, w)
                        _ = Tensor.matmul(x, g, transposeA: true)
                    }
                    dense.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(repeats))
                    start = DispatchTime.now().uptimeNanoseconds
                    for _ in 0..<repeats {
                        let s = SparseRows(x)
                        _ = s.times(w)
                        _ = s.transposed.times(g)
                    }
                    sparse.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(repeats))
                }
                let row = SparseComparison(inputs: inputs, width: width, density: density,
                                           denseMicroseconds: dense.sorted()[rounds / 2], sparseMicroseconds: sparse.sorted()[rounds / 2])
                log(String(format: "%d x %d, density %.2f: dense %7.1f us, sparse %7.1f us, sparse/dense %.2f",
                           inputs, width, density, row.denseMicroseconds, row.sparseMicroseconds, row.ratio))
                results.append(row)
            }
        }
        return results
    }
}
