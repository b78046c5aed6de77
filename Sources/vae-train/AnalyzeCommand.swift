// `vae-train analyze`: bias, variance, MSE, cosine and cost of each estimator's encoder-logit gradient
// on a run's checkpoint (see Training/Analyze.swift); prints a table and writes <run>/analysis.csv.
import ArgumentParser
import Estimators
import Foundation
import Experiments
import Training

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Gradient diagnostics on a run's checkpoint: bias, variance, MSE and cosine against the exact (or high-sample) gradient.")

    @Option(name: .customLong("run"), help: "Run folder holding checkpoint.bin (e.g. results/st_4x24/run).")
    var runDirectory: String

    @Option(help: "Comma-separated estimator names (default: every estimator supporting the latent family).")
    var estimators: String?

    @Option(help: "Draws of each estimator.")
    var draws: Int = 1000

    @Option(help: "Examples in the fixed batch (the first ones of the training split).")
    var batch: Int = 16

    @Option(help: "Enumerate the exact gradient when the latent space has at most this many codes; else a high-sample RLOO reference.")
    var maxCodes: Int = 4096

    @Option(help: "Samples per example for the high-sample reference.")
    var referenceSamples: Int = 20000

    @Option(help: "Adam steps on estimators' own parameters (REBAR, RELAX, NVIL) before a second, tuned measurement.")
    var tuneSteps: Int = 0

    @Option(help: "Learning rate for tuning (default: the run's learning rate x the estimator's scale).")
    var tuneLr: Double?

    @Option(help: "Seed for the batch's binarisation, the reference and the draws.")
    var seed: Int = 1

    func run() throws {
        do {
            var options = AnalysisOptions()
            if let estimators {
                let names = estimators.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                for name in names { _ = try EstimatorRegistry.entry(named: name) }
                options.estimators = names
            }
            options.draws = draws
            options.batchSize = batch
            options.maxCodes = maxCodes
            options.referenceSamples = referenceSamples
            options.tuneSteps = tuneSteps
            options.tuneLearningRate = tuneLr
            options.seed = seed
            let rows = try Analysis.run(directory: runDirectory, options: options, log: { message in
                FileHandle.standardError.write(Data((message + "\n").utf8))
            })
            print(Analysis.table(rows))
            print("wrote \((runDirectory as NSString).appendingPathComponent("analysis.csv"))")
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail(error)
        }
    }
}
