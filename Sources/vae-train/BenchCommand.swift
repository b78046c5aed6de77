// `vae-train bench`: step time and its ratio to the sgemm-only ideal, per latent shape and estimator.
import ArgumentParser
import Autodiff
import Estimators
import Foundation
import Training
import VAE

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Training throughput (batch 100) and the ratio of step time to its matrix products alone.")

    @Option(help: "Latent shapes, comma-separated: CxL (classes x variables, the ReinMax paper's naming) or N Bernoulli units.")
    var latents = "4x24,64x8"

    @Option(help: "Estimators, comma-separated, or 'all' (those that support each latent family).")
    var estimators = "all"

    @Option(help: "Also time every estimator that has a `samples` option at each of these K (comma-separated), to check the cost is linear in K.")
    var samples: String?

    @Option(help: "Timed steps per measurement.")
    var steps = 60

    @Option(help: "BLAS threads.")
    var threads = 1

    @Option(help: "Write the table as CSV here (`make bench` passes runs/bench.csv, which git ignores).")
    var csv: String?

    func run() throws {
        do {
            BLASInfo.setThreads(threads)
            print("machine: \(Benchmark.cpuModel), \(ProcessInfo.processInfo.activeProcessorCount) cores; kernels: \(KernelInfo.instructionSet)")
            print("BLAS: \(BLASInfo.description)" + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0) is set)" } ?? ""))
            let specs = try latents.split(separator: ",").map { text -> LatentSpec in
                guard let spec = LatentSpec(shape: String(text)) else {
                    throw ValidationError("bad latent shape '\(text)': use CxL (classes x variables) or N")
                }
                return spec
            }
            let names = estimators == "all" ? ["st"] + EstimatorRegistry.names.filter { $0 != "st" }
                : estimators.split(separator: ",").map(String.init)
            var settings: [EstimatorOptions] = []
            for name in names {
                settings.append(EstimatorOptions(estimator: name))
                if let samples, try EstimatorRegistry.entry(named: name).optionKeys.contains("samples") {
                    for k in samples.split(separator: ",").compactMap({ Int($0) }) {
                        settings.append(EstimatorOptions(estimator: name, values: ["samples": .number(Double(k))]))
                    }
                }
            }
            // Step time does not depend on which images are fed, so the bench (unlike a training run)
            // falls back to the committed subset explicitly when full MNIST is absent; it prints which.
            let train = try DatasetLoader.load(.mnist, split: .train,
                                               searchPaths: DatasetLoader.defaultSearchPaths(for: .mnist) + [DatasetLoader.embeddedDirectory],
                                               limit: 2000)
            print("data: \(train.source.isEmpty ? train.name : train.source)")
            let rows = try Benchmark.run(latents: specs, estimators: settings, steps: steps, data: (train, train), threads: threads)
            if let csv {
                var text = "latent,estimator,threads,ms_per_step,steps_per_sec,gemm_ms_per_step,ratio_to_gemm,optimizer_ms_per_step,ratio_without_optimizer,relative_to_st,"
                    + "step_gemm_ms,step_elementwise_ms,step_optimizer_ms,step_estimator_ms,step_other_ms,allocations_per_step\n"
                for r in rows {
                    let b = r.breakdown
                    text += String(format: "%@,%@,%d,%.3f,%.2f,%.3f,%.3f,%.3f,%.3f,%@,%.3f,%.3f,%.3f,%.3f,%.3f,%.0f\n", r.latent, r.estimator, threads,
                                   r.millisecondsPerStep, r.stepsPerSecond, r.gemmMillisecondsPerStep, r.ratioToGemm,
                                   r.optimizerMillisecondsPerStep, r.ratioWithoutOptimizer,
                                   r.relativeToST.map { String(format: "%.3f", $0) } ?? "",
                                   b.gemm, b.elementwise, b.optimizer, b.estimator, b.other, b.allocations)
                }
                try writeAtomically(Data(text.utf8), to: csv)
            }
        } catch let error as ExitCode { throw error } catch let error as ValidationError { throw error } catch { throw fail(error) }
    }
}
