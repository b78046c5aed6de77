// `vae-train bench`: step time and its ratio to the sgemm-only ideal, per latent shape and estimator.
import ArgumentParser
import Autodiff
import Estimators
import Foundation
import Experiments
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

    @Option(help: "Threads of the run (gemm slices, kernels, optimizer).")
    var threads = 1

    @Option(help: "Write the table as CSV here (`make bench` passes runs/bench.csv, which git ignores).")
    var csv: String?

    @Option(help: "Instead of training steps, time a first layer's products (784 inputs, widths 512, 256, 200, batch 100) dense and sparse at each of these input densities (comma-separated), to see where the sparse path pays.")
    var sparseDensities: String?

    func run() throws {
        do {
            BLASInfo.setThreads(threads)
            print("machine: \(Benchmark.cpuModel), \(ProcessInfo.processInfo.activeProcessorCount) cores; kernels: \(KernelInfo.instructionSet)")
            print("BLAS: \(BLASInfo.description)" + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0) is set)" } ?? ""))
            if let sparseDensities {
                let densities = try sparseDensities.split(separator: ",").map { text -> Double in
                    guard let d = Double(text), d >= 0, d <= 1 else { throw ValidationError("bad density '\(text)': use numbers in [0, 1]") }
                    return d
                }
                print("sparse path taken at density <= \(SparseRows<Float>.maximumDensity)")
                _ = Benchmark.sparseVersusDense(widths: [512, 256, 200], densities: densities)
                return
            }
            let specs = try latents.split(separator: ",").map { text -> LatentSpec in
                guard let spec = LatentSpec(shape: String(text)) else {
                    throw ValidationError("bad latent shape '\(text)': use CxL (classes x variables) or N")
                }
                return spec
            }
            let names = estimators == "all" ? nil : estimators.split(separator: ",").map(String.init)
            let settings = try Benchmark.settings(estimators: names, samples: samples.map { $0.split(separator: ",").compactMap { Int($0) } } ?? [])
            // Step time does not depend on which images are fed, so the bench (unlike a training run)
            // falls back to the committed subset explicitly when full MNIST is absent; it prints which.
            let train = try DatasetLoader.load(.mnist, split: .train,
                                               searchPaths: DatasetLoader.defaultSearchPaths(for: .mnist) + [DatasetLoader.embeddedDirectory],
                                               limit: 2000)
            print("data: \(train.source.isEmpty ? train.name : train.source)")
            let rows = try Benchmark.run(latents: specs, estimators: settings, steps: steps, data: (train, train), threads: threads)
            if let csv { try writeAtomically(Data(Benchmark.csv(rows, threads: threads).utf8), to: csv) }
        } catch let error as ExitCode { throw error } catch let error as ValidationError { throw error } catch { throw fail(error) }
    }
}
