// `vae-train poly`: the ReinMax polynomial-programming toy (see Training/Poly.swift), over a list of
// estimators, exponents p and seeds; writes curves.csv, table.csv and table.md to the output folder.
import ArgumentParser
import Foundation
import Experiments
import Training

struct PolyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poly",
        abstract: "Run the ReinMax polynomial-programming toy (128 binary variables, target 0.45).")

    @Option(help: "JSON config (default configs/poly.json when it exists; the flags below override it).")
    var config: String?

    @Option(help: "Comma-separated estimator names (with the config's options for that name, else defaults).")
    var estimators: String?

    @Option(help: "Comma-separated exponents p, e.g. 1.5,2,3.")
    var p: String?

    @Option(help: "Number of seeds (1...n), replacing the config's list.")
    var seeds: Int?

    @Option(help: "Training steps (8000 in the paper).")
    var steps: Int?

    @Option(help: "Output folder (default results/poly).")
    var out: String?

    func run() throws {
        do {
            let path = config ?? (FileManager.default.fileExists(atPath: "configs/poly.json") ? "configs/poly.json" : nil)
            var settings = try path.map(PolyConfig.load) ?? PolyConfig()
            if let estimators { try settings.selectEstimators(estimators.split(separator: ",").map(String.init)) }
            if let p {
                settings.exponents = try p.split(separator: ",").map { guard let v = Double($0), v > 0 else { throw ValidationError("bad p '\($0)'") }; return v }
            }
            if let seeds { settings.seeds = Array(1...max(seeds, 1)) }
            if let steps { settings.problem.steps = steps }
            if let out { settings.output = out }
            try Poly.runExperiment(settings, command: CommandLine.arguments.joined(separator: " "), log: { print($0) })
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
    }
}
